"""The batch sampler every stage uses over a character's replies.

Training batches are bucketed by duration (Lhotse's DynamicBucketingSampler) so
little of each batch is padding; validation, or too few replies to fill the
buckets, gets plain batches in a fixed order.
"""


def reply_sampler(cuts, max_duration: float, num_buckets: int, shuffle: bool, seed: int):
    from lhotse.dataset import DynamicBucketingSampler, SimpleCutSampler

    if shuffle and len(cuts) >= 2 * num_buckets:
        return DynamicBucketingSampler(cuts, max_duration=max_duration, num_buckets=num_buckets, shuffle=True,
                                       seed=seed, drop_last=False)
    return SimpleCutSampler(cuts, max_duration=max_duration, shuffle=shuffle, seed=seed)
