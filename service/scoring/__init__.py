"""Pure domain rules: answer extraction, pivot splitting, language fidelity, calibration, reward
recipes, ranking, languages. Imports nothing from the HTTP, engine or pipeline layers (tests/unit/test_layers.py)."""
