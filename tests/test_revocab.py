"""Moving a decoder onto another tokenizer's codes: embeddings from co-occurring codes, the rest kept."""

import numpy as np
import torch

from audiorole.models.flow.revocab import co_occurrence_embedding, revocab
from flow_fakes import tiny_flow


def test_each_new_code_starts_at_the_mean_of_the_old_codes_heard_with_it():
    old = torch.tensor([[1.0, 0.0], [0.0, 1.0], [4.0, 4.0]])
    pairs = [(np.array([0, 1, 2]), np.array([0, 0, 1])),  # new 0 = old 0 and 1; new 1 = old 2
             (np.array([2, 2]), np.array([1, 1, 1]))]     # lengths differing by a frame are cut to the shorter
    emb, seen = co_occurrence_embedding(old, pairs, new_size=3)
    assert seen == 2
    assert torch.allclose(emb[0], torch.tensor([0.5, 0.5])) and torch.allclose(emb[1], torch.tensor([4.0, 4.0]))
    assert torch.allclose(emb[2], old.mean(0))  # never heard: the mean embedding


def test_revocab_keeps_every_other_weight_and_resizes_the_vocabulary(tmp_path):
    from audiorole.models.flow.decoder import FlowDecoder

    old = tiny_flow()
    new_emb = torch.randn(7, old.input_embedding.weight.shape[1])
    new = revocab(old, new_emb)
    assert new.vocab_size == 7 and torch.equal(new.input_embedding.weight, new_emb)
    for name, value in old.state_dict().items():
        if name != "input_embedding.weight":
            assert torch.equal(new.state_dict()[name], value), name
    loaded = FlowDecoder.load(new.save(tmp_path / "dec"))  # the public layout, with the new vocabulary
    assert loaded.input_embedding.num_embeddings == 7
