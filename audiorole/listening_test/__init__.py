"""A blind listening test for people: a static page of randomised trials, and the unblinding of the answers.

    python -m audiorole.listening_test make --benchmark BENCH --system ours=DIR --system gpt4o=DIR --out TEST
    python -m audiorole.listening_test collect TEST/answers/*.json --key TEST/key.json --eval RUN/eval.json

``make.py`` builds the page (voice A/B, naturalness 1-5, in character 1-5) with every clip
under a random name and the key kept beside it; ``collect.py`` turns answer files into
preference rates and mean scores with 95 % intervals, Krippendorff's alpha
(``agreement.py``) and, given an ``eval.json``, the correlation with the evaluator.
"""
