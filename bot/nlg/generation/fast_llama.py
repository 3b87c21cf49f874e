"""A lean Llama forward for CPU decoding, over the weights of a ``LlamaForCausalLM``.

HF's ``LlamaModel`` runs many small Python-level modules per layer per token and keeps
a ``DynamicCache``; for a 135M model on a CPU that overhead costs more than the
arithmetic. :class:`LeanLlama` does the same maths with far fewer operations:

* q, k and v come out of one fused projection, gate and up out of another (weights
  concatenated once);
* in int8 each fused matrix is quantised per output channel with the per-tensor scale
  that ``quantize_dynamic`` gives each original matrix, so the int8 weights (and the
  results) are those of the HF int8 path;
* RoPE is a half swap, two multiplies and an add against precomputed cos/sin tables
  (the sine's first half negated, so the swap needs no negation), for q and k at once;
* RMSNorm is ``F.rms_norm`` (the same arithmetic as HF's ``LlamaRMSNorm`` in fp32);
* the KV cache is one preallocated tensor written in place; a decode step attends over
  the first ``n`` positions of views made once per step, with
  ``scaled_dot_product_attention(..., enable_gqa=True)`` as HF calls it (no repeated
  keys or values, no masks, no cache objects).

Only the last position's logits are computed. With the same int8 weights and the same
kernels, the logits are those of HF's int8 forward with ``logits_to_keep=1`` (bit for
bit on this machine's x86 engine; the tests allow float rounding). :func:`supports` says
whether a model can take this path; other models keep HF's forward.

An instance holds one KV cache: one decode at a time.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812
from transformers import PreTrainedModel

logger = logging.getLogger(__name__)

#: Positions added to the cache when it has to grow.
_CACHE_CHUNK = 256


@dataclass(frozen=True)
class LlamaShape:
    """The sizes a lean forward needs.

    Attributes:
        layers: Decoder layers.
        hidden: Hidden size.
        heads: Query heads.
        kv_heads: Key/value heads.
        head_dim: Size of one head.
        intermediate: MLP inner size.
        eps: RMSNorm epsilon.
    """

    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    eps: float


def supports(model: nn.Module) -> bool:
    """Whether a model is a plain Llama that :class:`LeanLlama` computes exactly.

    Args:
        model: Any model.

    Returns:
        ``True`` for a ``llama`` causal LM without biases, with SiLU, default RoPE and a
        bias-free head; ``False`` otherwise (the caller keeps HF's forward).
    """
    config = getattr(model, "config", None)
    inner = getattr(model, "model", None)
    if config is None or inner is None or getattr(config, "model_type", None) != "llama":
        return False
    rope = getattr(config, "rope_scaling", None)
    rope_type = (rope or {}).get("rope_type", (rope or {}).get("type", "default"))
    head = getattr(model, "lm_head", None)
    return (
        not getattr(config, "attention_bias", False)
        and not getattr(config, "mlp_bias", False)
        and getattr(config, "hidden_act", "silu") == "silu"
        and getattr(config, "pretraining_tp", 1) == 1
        and rope_type == "default"
        and isinstance(head, nn.Linear)
        and head.bias is None
        and config.num_attention_heads % config.num_key_value_heads == 0
    )


def _shape(model: PreTrainedModel) -> LlamaShape:
    config = model.config
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    return LlamaShape(
        layers=config.num_hidden_layers,
        hidden=config.hidden_size,
        heads=config.num_attention_heads,
        kv_heads=config.num_key_value_heads,
        head_dim=head_dim,
        intermediate=config.intermediate_size,
        eps=float(config.rms_norm_eps),
    )


def _quantize_rows(parts: list[torch.Tensor]) -> object:
    """Pack matrices stacked by rows as one int8 linear, each with its own scale.

    Each part is quantised exactly as ``quantize_dynamic`` quantises an ``nn.Linear``
    (symmetric, per tensor); the stack keeps those scales per output channel.

    Args:
        parts: fp32 weight matrices with the same number of columns.

    Returns:
        Packed parameters for ``torch.ops.quantized.linear_dynamic``.
    """
    ints: list[torch.Tensor] = []
    scales: list[torch.Tensor] = []
    for weight in parts:
        observer = torch.ao.quantization.default_dynamic_qconfig.weight()
        observer(weight)
        scale, zero_point = observer.calculate_qparams()
        q = torch.quantize_per_tensor(weight, float(scale), int(zero_point), torch.qint8)
        ints.append(q.int_repr())
        scales.append(torch.full((weight.shape[0],), q.q_scale(), dtype=torch.float64))
    stacked = torch._make_per_channel_quantized_tensor(
        torch.cat(ints),
        torch.cat(scales),
        torch.zeros(sum(w.shape[0] for w in parts), dtype=torch.int64),
        0,
    )
    return torch.ops.quantized.linear_prepack(stacked, None)


def _select_engine() -> None:
    engines = torch.backends.quantized.supported_engines
    if "x86" in engines:
        torch.backends.quantized.engine = "x86"
    elif "fbgemm" in engines:
        torch.backends.quantized.engine = "fbgemm"


class LeanLlama:
    """The decode-time forward of a Llama causal LM, fp32 or int8 (CPU).

    The model's weights are read once (fused, and quantised when ``int8``); the model
    itself is left unchanged. The embedding table, the norms' weights and (fp32) the
    unfused matrices are shared with it, not copied.

    Args:
        model: A model for which :func:`supports` is true.
        int8: Run every projection and the head in int8 (dynamic quantisation).
    """

    def __init__(self, model: PreTrainedModel, *, int8: bool) -> None:
        if not supports(model):
            raise ValueError("LeanLlama needs a plain Llama causal LM")
        self.shape = shape = _shape(model)
        self.int8 = int8
        inner = model.model
        with torch.no_grad():
            self.embed = inner.embed_tokens.weight.detach()
            self.final_norm = inner.norm.weight.detach()
            self.attn_norms = [layer.input_layernorm.weight.detach() for layer in inner.layers]
            self.mlp_norms = [
                layer.post_attention_layernorm.weight.detach() for layer in inner.layers
            ]
            qkv = [
                [a.q_proj.weight, a.k_proj.weight, a.v_proj.weight]
                for a in (layer.self_attn for layer in inner.layers)
            ]
            gate_up = [
                [layer.mlp.gate_proj.weight, layer.mlp.up_proj.weight] for layer in inner.layers
            ]
            out = [[layer.self_attn.o_proj.weight] for layer in inner.layers]
            down = [[layer.mlp.down_proj.weight] for layer in inner.layers]
            head = [model.lm_head.weight]
            if int8:
                _select_engine()
                pack = _quantize_rows
            else:

                def pack(parts: list[torch.Tensor]) -> object:
                    return torch.cat(parts) if len(parts) > 1 else parts[0]

            def fp32(parts: list[nn.Parameter]) -> list[torch.Tensor]:
                return [p.detach().float() for p in parts]

            self.qkv = [pack(fp32(ws)) for ws in qkv]
            self.o = [pack(fp32(ws)) for ws in out]
            self.gate_up = [pack(fp32(ws)) for ws in gate_up]
            self.down = [pack(fp32(ws)) for ws in down]
            self.head = pack(fp32(head))
            inv_freq = inner.rotary_emb.inv_freq.detach().float().cpu()
            self._scaling = float(getattr(inner.rotary_emb, "attention_scaling", 1.0))
        self._inv_freq = inv_freq
        self._layers = list(
            zip(
                self.attn_norms,
                self.qkv,
                self.o,
                self.mlp_norms,
                self.gate_up,
                self.down,
                strict=True,
            )
        )
        self._q_scale = 1.0 / math.sqrt(shape.head_dim)
        self._cos = torch.empty(0)
        self._sin = torch.empty(0)
        self._cache = torch.empty(0)
        self._tables(_CACHE_CHUNK)

    def _tables(self, positions: int) -> None:
        """Build RoPE tables for ``positions`` positions, shape ``(P, 1, head_dim)``.

        The sine is signed so that ``x * cos + swap_halves(x) * sin`` is HF's
        ``x * cos + rotate_half(x) * sin``, exactly.
        """
        shape = self.shape
        pos = torch.arange(positions, dtype=torch.float32)[:, None]
        freqs = pos @ self._inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos = emb.cos() * self._scaling
        sin = emb.sin() * self._scaling
        half = shape.head_dim // 2
        sign = torch.cat((-torch.ones(half), torch.ones(shape.head_dim - half)))
        self._cos = cos[:, None, :].contiguous()
        self._sin = (sin * sign)[:, None, :].contiguous()

    def _linear(self, x: torch.Tensor, weight: object) -> torch.Tensor:
        if self.int8:
            return torch.ops.quantized.linear_dynamic(x, weight, True)
        return F.linear(x, weight)  # type: ignore[arg-type]

    def _norm(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        # Same arithmetic as HF's LlamaRMSNorm in fp32 (x * rsqrt(mean(x^2) + eps) * w).
        return F.rms_norm(x, (self.shape.hidden,), weight, self.shape.eps)

    def _ensure_capacity(self, positions: int) -> None:
        shape = self.shape
        if self._cos.shape[0] < positions:
            self._tables(-(-positions // _CACHE_CHUNK) * _CACHE_CHUNK)
        if self._cache.dim() != 5 or self._cache.shape[3] < positions:
            size = -(-positions // _CACHE_CHUNK) * _CACHE_CHUNK
            # (layers, k/v, kv_heads, positions, head_dim); what is cached so far is kept.
            grown = torch.empty(shape.layers, 2, shape.kv_heads, size, shape.head_dim)
            if self._cache.dim() == 5:
                grown[:, :, :, : self._cache.shape[3]] = self._cache
            self._cache = grown

    def prefill(self, ids: list[int], reserve: int = 0) -> torch.Tensor:
        """Run a prompt from position 0 and return the last position's logits.

        Args:
            ids: The prompt's token ids (at least one).
            reserve: Positions to keep room for after the prompt (the reply budget).

        Returns:
            The logits of the last prompt position, shape ``(vocab,)``.
        """
        shape = self.shape
        n = len(ids)
        self._ensure_capacity(n + reserve + 1)
        x = self.embed[torch.tensor(ids, dtype=torch.long)]
        cos = self._cos[:n]
        sin = self._sin[:n]
        qk_heads = shape.heads + shape.kv_heads
        half = shape.head_dim // 2
        for layer in range(shape.layers):
            h = self._norm(x, self.attn_norms[layer])
            qkv = self._linear(h, self.qkv[layer]).view(n, qk_heads + shape.kv_heads, -1)
            qk = qkv[:, :qk_heads]
            swapped = torch.cat((qk[..., half:], qk[..., :half]), dim=-1)
            qk = qk * cos + swapped * sin
            q = qk[:, : shape.heads].transpose(0, 1)
            k = qk[:, shape.heads :].transpose(0, 1)
            v = qkv[:, qk_heads:].transpose(0, 1)
            self._cache[layer, 0, :, :n] = k
            self._cache[layer, 1, :, :n] = v
            attn = F.scaled_dot_product_attention(
                q[None], k[None], v[None], is_causal=True, scale=self._q_scale, enable_gqa=True
            )[0]
            x = x + self._linear(attn.transpose(0, 1).reshape(n, -1), self.o[layer])
            h = self._norm(x, self.mlp_norms[layer])
            gate, up = self._linear(h, self.gate_up[layer]).split(shape.intermediate, dim=-1)
            x = x + self._linear(F.silu(gate) * up, self.down[layer])
        last = self._norm(x[-1:], self.final_norm)
        return self._linear(last, self.head)[0]

    def step(self, token: int, position: int) -> torch.Tensor:
        """Feed one token at ``position`` (after :meth:`prefill`) and return its logits.

        Args:
            token: The token id.
            position: Its position (the prompt length for the first reply token).

        Returns:
            The next-token logits, shape ``(vocab,)``.
        """
        shape = self.shape
        self._ensure_capacity(position + 1)
        n = position + 1
        heads = shape.heads
        qk_heads = heads + shape.kv_heads
        half = shape.head_dim // 2
        inner = shape.intermediate
        norm = (shape.hidden,)
        eps = shape.eps
        linear = self._linear
        cos = self._cos[position]
        sin = self._sin[position]
        # Views made once per step: every layer's keys/values so far and this position's slot.
        keys = self._cache[:, 0, :, :n]
        values = self._cache[:, 1, :, :n]
        key_slots = self._cache[:, 0, :, position]
        value_slots = self._cache[:, 1, :, position]
        x = self.embed[token : token + 1]
        for layer, (attn_norm, qkv_w, o_w, mlp_norm, gate_up_w, down_w) in enumerate(self._layers):
            qkv = linear(F.rms_norm(x, norm, attn_norm, eps), qkv_w).view(
                qk_heads + shape.kv_heads, -1
            )
            qk = qkv[:qk_heads]
            swapped = torch.cat((qk[:, half:], qk[:, :half]), dim=-1)
            qk = qk * cos + swapped * sin
            key_slots[layer].copy_(qk[heads:])
            value_slots[layer].copy_(qkv[qk_heads:])
            attn = F.scaled_dot_product_attention(
                qk[None, :heads, None],
                keys[layer][None],
                values[layer][None],
                scale=self._q_scale,
                enable_gqa=True,
            ).view(1, -1)
            x = x + linear(attn, o_w)
            gate_up = linear(F.rms_norm(x, norm, mlp_norm, eps), gate_up_w)
            x = x + linear(F.silu(gate_up[:, :inner]) * gate_up[:, inner:], down_w)
        return linear(F.rms_norm(x, norm, self.final_norm, eps), self.head)[0]
