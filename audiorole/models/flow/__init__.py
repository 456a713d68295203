"""Token -> mel flow-matching decoder (CosyVoice / GLM-4-Voice style), one per character.

``decoder.FlowDecoder`` is the entry point; ``encoder``, ``estimator`` and ``cfm``
are its parts, ``layers`` the transformer pieces they share.
"""
