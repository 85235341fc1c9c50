"""The trainable network: one encoder pass per window feeds every head.

Heads are plain linear layers over features that inference recomputes in numpy
(``unspin.model.heads``), so only the encoder goes to ONNX.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import BertModel

from ..taxonomy import FRAME_NAMES, GENRE_NAMES, TECHNIQUE_NAMES


class PersuasionNet(nn.Module):
    def __init__(self, encoder_dir: str, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = BertModel.from_pretrained(encoder_dir, add_pooling_layer=False)
        h = self.encoder.config.hidden_size
        t = len(TECHNIQUE_NAMES)
        self.dropout = nn.Dropout(dropout)
        self.token_head = nn.Linear(h, t)
        # The translated articles' annotators mark spans more densely: one offset per
        # technique for their tokens keeps the English token head in the English style.
        self.token_mt_b = nn.Parameter(torch.zeros(t))
        self.paragraph_head = nn.Linear(2 * h + t, t)
        self.genre_head = nn.Linear(h, len(GENRE_NAMES))
        self.frame_head = nn.Linear(h, len(FRAME_NAMES))

    def load_weights(self, state: dict[str, torch.Tensor]) -> None:
        """A checkpoint's weights; those from before ``token_mt_b`` existed load with it at zero."""
        missing, unexpected = self.load_state_dict(state, strict=False)
        if unexpected or set(missing) - {"token_mt_b"}:
            raise RuntimeError(f"checkpoint does not fit the network: missing {missing}, unexpected {unexpected}")

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_para: torch.Tensor,
        translated: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """``token_para`` [B, L]: paragraph slot of each position (-1: none); slots are
        numbered consecutively across the batch so pooled paragraphs come out flat.
        ``translated`` [B]: windows of translated articles, whose token logits get the
        translated offset (the paragraph features read the English ones)."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        hidden = self.dropout(hidden)
        token_logits = self.token_head(hidden)
        content = attention_mask.clone()
        content[:, 0] = 0  # [CLS]
        lengths = attention_mask.sum(1)
        content[torch.arange(len(lengths)), lengths - 1] = 0  # [SEP]
        cm = content.unsqueeze(-1).to(hidden.dtype)
        window_mean = (hidden * cm).sum(1) / cm.sum(1).clamp(min=1.0)
        para_feats = pool_paragraphs(hidden, torch.sigmoid(token_logits).detach(), token_para)
        if translated is not None:
            token_logits = token_logits + self.token_mt_b * translated.to(token_logits.dtype)[:, None, None]
        return {
            "token": token_logits,
            "paragraph": self.paragraph_head(para_feats),
            "genre": self.genre_head(window_mean),
            "frames": self.frame_head(window_mean),
        }


def pool_paragraphs(hidden: torch.Tensor, token_probs: torch.Tensor, token_para: torch.Tensor) -> torch.Tensor:
    """[mean hidden, max hidden, max token probability] per paragraph slot."""
    n = int(token_para.max().item()) + 1 if token_para.numel() and token_para.max() >= 0 else 0
    flat_h = hidden.reshape(-1, hidden.shape[-1])
    flat_p = token_probs.reshape(-1, token_probs.shape[-1])
    flat_i = token_para.reshape(-1)
    feats = []
    for slot in range(n):
        sel = flat_i == slot
        h = flat_h[sel]
        feats.append(torch.cat([h.mean(0), h.max(0).values, flat_p[sel].max(0).values]))
    if not feats:
        return hidden.new_zeros((0, 2 * hidden.shape[-1] + token_probs.shape[-1]))
    return torch.stack(feats)
