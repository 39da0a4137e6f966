"""Emotion classification of a dataset with emotion2vec (issue 12, rule E-1).

So far: the results file beside the ``.list`` and the balance of emotions
(:mod:`gsv_core.emotion.results`). Classification through funasr follows.
"""
