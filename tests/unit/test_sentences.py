"""Sentence pieces for the sentence-level translator, and putting translations back together."""

from __future__ import annotations

from service.scoring.sentences import Piece, join_sentences, split_sentences, split_words


def test_sentences_and_lines_keep_their_separators() -> None:
    text = "Sie hat 16 Eier. Sie isst 3!\n\nDann backt sie.\nWie viele bleiben? 9."
    pieces = split_sentences(text)
    assert [p.text for p in pieces] == [
        "Sie hat 16 Eier.",
        "Sie isst 3!",
        "Dann backt sie.",
        "Wie viele bleiben? 9.",
    ]
    assert [p.separator for p in pieces] == ["", " ", "\n\n", "\n"]
    assert join_sentences(pieces, [p.text for p in pieces]) == text


def test_decimals_and_numbering_are_not_sentence_ends() -> None:
    pieces = split_sentences("1. Schritt: 2.5 km in 0.5 h. 2. Schritt: fertig.")
    assert [p.text for p in pieces] == ["1. Schritt: 2.5 km in 0.5 h.", "2. Schritt: fertig."]


def test_cjk_and_indic_full_stops_split_without_spaces() -> None:
    assert [p.text for p in split_sentences("她有16个鸡蛋。她吃了3个。还剩几个？")] == [
        "她有16个鸡蛋。",
        "她吃了3个。",
        "还剩几个？",
    ]
    assert len(split_sentences("उसके पास 16 अंडे हैं। वह 3 खाती है।")) == 2


def test_lines_of_symbols_stay_as_pieces() -> None:
    pieces = split_sentences("Rechnung:\n$$16 - 3 = 13$$\n---")
    assert [p.text for p in pieces] == ["Rechnung:", "$$16 - 3 = 13$$", "---"]
    assert split_sentences("") == [] and split_sentences(" \n ") == []


def test_split_words_cuts_near_the_middle() -> None:
    assert split_words("one two three four") == ("one two", "three four")
    left, right = split_words("没有空格的一整行中文句子")
    assert left and right and left + right == "没有空格的一整行中文句子"


def test_join_uses_translations_in_order() -> None:
    pieces = [Piece("a", ""), Piece("b", " "), Piece("c", "\n")]
    assert join_sentences(pieces, [" A ", "B", "C"]) == "A B\nC"
