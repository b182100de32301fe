"""The orchestrator's DeepSeek-V3-style model (Kernels/Model) in eager PyTorch, for same-run comparisons.

Same architecture, shapes and precisions as the C# model: FP32 master weights; every projection except
the gate and the output head multiplies in bfloat16 (inputs cast, product widened back to FP32); MLA with
a low-rank query and compressed KV, decoupled RoPE, causal SDPA in FP32; MoE with sigmoid scores,
group-limited top-k on score + bias, normalised gates times route_scale, tokens sorted by expert and one
GEMM group per expert (or, with "grouped_experts": "on", one padded bmm per projection; "mm", one
`torch._grouped_mm` per projection over expert offsets that stay on the device), shared experts, the
sequence-wise balance loss; one MTP module sharing the embedding and head. "attention_bf16": SDPA in bf16
(flash/efficient kernels) instead of FP32. Not bit-identical to the C# model (different initialisation stream).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Linear(nn.Module):
    def __init__(self, d_in, d_out, bf16=True):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(d_out, d_in))
        self.bf16 = bf16

    def forward(self, x):
        if self.bf16:
            return F.linear(x.to(torch.bfloat16), self.weight.to(torch.bfloat16)).float()
        return F.linear(x, self.weight)


class RmsNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.square().mean(-1, keepdim=True) + self.eps) * self.weight


class Rope:
    def __init__(self, dim, positions, theta, device):
        inv = 1.0 / (theta ** (torch.arange(0, dim // 2, dtype=torch.float64) * (2.0 / dim)))
        angles = torch.outer(torch.arange(positions, dtype=torch.float64), inv)
        doubled = torch.cat([angles, angles], 1)
        self.cos = doubled.cos().float().to(device)
        self.sin = doubled.sin().float().to(device)

    def apply(self, x):  # x [B, T, H, d]
        t = x.shape[1]
        cos = self.cos[:t].unsqueeze(0).unsqueeze(2)
        sin = self.sin[:t].unsqueeze(0).unsqueeze(2)
        half = x.shape[-1] // 2
        rotated = torch.cat([-x[..., half:], x[..., :half]], -1)
        return x * cos + rotated * sin


class Mla(nn.Module):
    def __init__(self, c, rope):
        super().__init__()
        self.c, self.rope = c, rope
        h, qk = c["n_heads"], c["qk_nope_head_dim"] + c["qk_rope_head_dim"]
        self.wq_a = Linear(c["dim"], c["q_lora_rank"])
        self.q_norm = RmsNorm(c["q_lora_rank"], c["norm_eps"])
        self.wq_b = Linear(c["q_lora_rank"], h * qk)
        self.wkv_a = Linear(c["dim"], c["kv_lora_rank"] + c["qk_rope_head_dim"])
        self.kv_norm = RmsNorm(c["kv_lora_rank"], c["norm_eps"])
        self.wkv_b = Linear(c["kv_lora_rank"], h * (c["qk_nope_head_dim"] + c["v_head_dim"]))
        self.wo = Linear(h * c["v_head_dim"], c["dim"])

    def forward(self, x):
        c = self.c
        b, t, _ = x.shape
        h, nope, rd, v = c["n_heads"], c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"]
        q = self.wq_b(self.q_norm(self.wq_a(x))).view(b, t, h, nope + rd)
        q_nope, q_rope = q[..., :nope], self.rope.apply(q[..., nope:])
        kv = self.wkv_a(x)
        latent = kv[..., : c["kv_lora_rank"]]
        k_rope = self.rope.apply(kv[..., c["kv_lora_rank"]:].unsqueeze(2))
        expanded = self.wkv_b(self.kv_norm(latent)).view(b, t, h, nope + v)
        k_nope, value = expanded[..., :nope], expanded[..., nope:]
        query = torch.cat([q_nope, q_rope], -1).transpose(1, 2)
        key = torch.cat([k_nope, k_rope.expand(b, t, h, rd)], -1).transpose(1, 2)
        value = value.transpose(1, 2)
        if c.get("attention_bf16"):
            query, key, value = query.to(torch.bfloat16), key.to(torch.bfloat16), value.to(torch.bfloat16)
        out = F.scaled_dot_product_attention(query, key, value, is_causal=True).float()
        return self.wo(out.transpose(1, 2).reshape(b, t, h * v))


class FeedForward(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.w1, self.w2, self.w3 = Linear(dim, hidden), Linear(hidden, dim), Linear(dim, hidden)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Moe(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.gate = nn.Parameter(torch.empty(c["n_routed_experts"], c["dim"]))
        self.register_buffer("expert_bias", torch.zeros(c["n_routed_experts"]))
        self.experts = nn.ModuleList(FeedForward(c["dim"], c["moe_inter_dim"]) for _ in range(c["n_routed_experts"]))
        self.shared = FeedForward(c["dim"], c["n_shared_experts"] * c["moe_inter_dim"]) if c["n_shared_experts"] else None
        self.loads = None
        self.balance = None
        self.grouped = c.get("grouped_experts", "off")

    def expert_loop(self, rows, counts):
        """Each expert on its rows, one after another (the C# model's grouped_experts=off)."""
        outputs, start = [], 0
        for i, n in enumerate(counts):
            if n:
                outputs.append(self.experts[i](rows[start:start + n]))
                start += n
        return torch.cat(outputs, 0)

    def grouped_experts(self, rows, loads, counts):
        """The C# model's grouped_experts=on: rows into [E, cap, d] (cap = largest count rounded up to 128, pad
        rows zero) by an index of unique positions, bmm with the stacked expert weights cast to bf16 once,
        SwiGLU, bmm back, the real rows taken out by the same index."""
        e, d, total = len(counts), rows.shape[1], rows.shape[0]
        cap = max(1, -(-max(counts) // 128)) * 128
        starts = torch.cumsum(loads, 0) - loads
        shift = torch.arange(e, device=rows.device) * cap - starts
        positions = torch.arange(total, device=rows.device) + shift.repeat_interleave(loads, output_size=total)
        padded = rows.new_zeros(e * cap, d).index_copy(0, positions, rows).view(e, cap, d).to(torch.bfloat16)
        w1 = torch.stack([x.w1.weight for x in self.experts]).to(torch.bfloat16)
        w3 = torch.stack([x.w3.weight for x in self.experts]).to(torch.bfloat16)
        w2 = torch.stack([x.w2.weight for x in self.experts]).to(torch.bfloat16)
        hidden = F.silu(torch.bmm(padded, w1.transpose(1, 2)).float()) * torch.bmm(padded, w3.transpose(1, 2)).float()
        out = torch.bmm(hidden.to(torch.bfloat16), w2.transpose(1, 2)).float()
        return out.view(e * cap, d).index_select(0, positions)

    def grouped_mm_experts(self, rows, loads):
        """grouped_experts="mm": each expert's rows padded to a multiple of 16 (grouped_mm's alignment) in a
        buffer of static size (rows + 16 per expert), offsets from a device cumsum: no host sync, static shapes
        (torch.compile keeps one graph)."""
        e, total = loads.shape[0], rows.shape[0]
        padded_counts = (loads + 15) // 16 * 16
        ends = torch.cumsum(padded_counts, 0)
        shift = (ends - padded_counts) - (torch.cumsum(loads, 0) - loads)
        positions = torch.arange(total, device=rows.device) + shift.repeat_interleave(loads, output_size=total)
        padded = rows.new_zeros(total + 16 * e, rows.shape[1], dtype=torch.bfloat16).index_copy(0, positions, rows.to(torch.bfloat16))
        offs = ends.to(torch.int32)
        w1 = torch.stack([x.w1.weight for x in self.experts]).to(torch.bfloat16)
        w3 = torch.stack([x.w3.weight for x in self.experts]).to(torch.bfloat16)
        w2 = torch.stack([x.w2.weight for x in self.experts]).to(torch.bfloat16)
        h1 = torch._grouped_mm(padded, w1.transpose(-2, -1), offs=offs)
        h3 = torch._grouped_mm(padded, w3.transpose(-2, -1), offs=offs)
        hidden = (F.silu(h1.float()) * h3.float()).to(torch.bfloat16)
        out = torch._grouped_mm(hidden, w2.transpose(-2, -1), offs=offs)
        return out.index_select(0, positions).float()

    def route(self, flat):
        c = self.c
        e, k, groups, limited = c["n_routed_experts"], c["n_activated_experts"], c["n_expert_groups"], c["n_limited_groups"]
        scores = F.linear(flat, self.gate).sigmoid()
        with torch.no_grad():
            choice = scores.detach() + self.expert_bias
            if limited < groups:
                grouped = choice.view(-1, groups, e // groups)
                per = max(1, min(k // limited, e // groups))
                group_score = grouped.topk(per, dim=-1).values.sum(-1)
                chosen = group_score.topk(limited, dim=-1).indices
                keep = torch.zeros_like(group_score, dtype=torch.bool).scatter(1, chosen, True)
                choice = grouped.masked_fill(~keep.unsqueeze(-1), float("-inf")).view(-1, e)
            experts = choice.topk(k, dim=-1, sorted=True).indices
        gates = scores.gather(1, experts)
        gates = gates / gates.sum(-1, keepdim=True) * c["route_scale"]
        return experts, gates, scores

    def forward(self, x):
        c = self.c
        b, t, d = x.shape
        flat = x.reshape(b * t, d)
        experts, gates, scores = self.route(flat)
        e, k = c["n_routed_experts"], c["n_activated_experts"]
        flat_experts = experts.flatten()
        # bincount sizes its output from the data (a host sync); index_add into E counters does not.
        loads = torch.zeros(e, dtype=torch.long, device=x.device).index_add_(0, flat_experts, torch.ones_like(flat_experts))
        if c["balance_loss_alpha"] > 0:
            p = (scores / scores.sum(-1, keepdim=True)).view(b, t, e).mean(1)
            with torch.no_grad():
                chosen = torch.zeros(b * t, e, device=x.device).scatter(1, experts, 1.0)
                f = chosen.view(b, t, e).sum(1) * (e / (k * t))
            self.balance = (f * p).sum(-1).mean() * c["balance_loss_alpha"]
        self.loads = loads
        order = flat_experts.sort(stable=True).indices
        rows = flat.index_select(0, order // k)
        if self.grouped == "mm":
            sorted_out = self.grouped_mm_experts(rows, loads)
        else:
            counts = loads.tolist()  # one device-to-host copy: the split sizes (as in the C# model)
            sorted_out = self.grouped_experts(rows, loads, counts) if self.grouped == "on" else self.expert_loop(rows, counts)
        per_choice = sorted_out.index_select(0, order.argsort()).view(-1, k, d)
        routed = (per_choice * gates.unsqueeze(-1)).sum(1)
        out = routed + self.shared(flat) if self.shared is not None else routed
        return out.view(b, t, d)


class Block(nn.Module):
    def __init__(self, c, rope, moe):
        super().__init__()
        self.attn_norm = RmsNorm(c["dim"], c["norm_eps"])
        self.attn = Mla(c, rope)
        self.ffn_norm = RmsNorm(c["dim"], c["norm_eps"])
        self.ffn = Moe(c) if moe else FeedForward(c["dim"], c["inter_dim"])

    def forward(self, x):
        h = x + self.attn(self.attn_norm(x))
        return h + self.ffn(self.ffn_norm(h))


class Mtp(nn.Module):
    def __init__(self, c, rope):
        super().__init__()
        self.hnorm = RmsNorm(c["dim"], c["norm_eps"])
        self.enorm = RmsNorm(c["dim"], c["norm_eps"])
        self.eh_proj = Linear(2 * c["dim"], c["dim"])
        self.block = Block(c, rope, moe=True)
        self.norm = RmsNorm(c["dim"], c["norm_eps"])


class DeepSeekModel(nn.Module):
    def __init__(self, c, device):
        super().__init__()
        self.c = c
        self.rope = Rope(c["qk_rope_head_dim"], c["max_seq_len"], c["rope_theta"], device)
        self.embed = nn.Parameter(torch.empty(c["vocab_size"], c["dim"]))
        self.layers = nn.ModuleList(Block(c, self.rope, moe=i >= c["n_dense_layers"]) for i in range(c["n_layers"]))
        self.norm = RmsNorm(c["dim"], c["norm_eps"])
        self.head = Linear(c["dim"], c["vocab_size"], bf16=False)  # the head stays FP32, as in the C# model
        self.mtp = nn.ModuleList(Mtp(c, self.rope) for _ in range(c["mtp_depth"]))
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, std=c["init_std"])

    def moe_layers(self):
        return [m for m in self.modules() if isinstance(m, Moe)]

    def loss(self, windows):
        c = self.c
        depth = c["mtp_depth"]
        length = windows.shape[1] - 1 - depth
        hidden = F.embedding(windows[:, :length], self.embed)
        for layer in self.layers:
            hidden = layer(hidden)
        logits = [self.head(self.norm(hidden))]
        for k in range(1, depth + 1):
            m = self.mtp[k - 1]
            joined = torch.cat([m.hnorm(hidden), m.enorm(F.embedding(windows[:, k:k + length], self.embed))], -1)
            hidden = m.block(m.eh_proj(joined))
            logits.append(self.head(m.norm(hidden)))
        losses = [F.cross_entropy(l.reshape(-1, l.shape[-1]), windows[:, k + 1:k + 1 + length].reshape(-1)) for k, l in enumerate(logits)]
        total = losses[0]
        balances = [m.balance for m in self.moe_layers() if m.balance is not None]
        if balances:
            total = total + torch.stack(balances).sum()
        if len(losses) > 1:
            total = total + torch.stack(losses[1:]).mean() * c["mtp_loss_weight"]
        return total, losses[0]


def flops_per_token(c, seq_len):
    """6 x activated GEMM parameters (head and MTP included, embedding excluded) + attention 6 x s x h x (dqk + dv) per layer."""
    d, h = c["dim"], c["n_heads"]
    qk = c["qk_nope_head_dim"] + c["qk_rope_head_dim"]
    attention = d * c["q_lora_rank"] + c["q_lora_rank"] * h * qk + d * (c["kv_lora_rank"] + c["qk_rope_head_dim"]) \
        + c["kv_lora_rank"] * h * (c["qk_nope_head_dim"] + c["v_head_dim"]) + h * c["v_head_dim"] * d
    expert = 3 * d * c["moe_inter_dim"]
    moe_active = (c["n_activated_experts"] + c["n_shared_experts"]) * expert + c["n_routed_experts"] * d
    dense = 3 * d * c["inter_dim"]
    layers = c["n_layers"] + c["mtp_depth"]
    moe_layers = c["n_layers"] - c["n_dense_layers"] + c["mtp_depth"]
    params = layers * attention + c["n_dense_layers"] * dense + moe_layers * moe_active + c["mtp_depth"] * 2 * d * d
    heads = (1 + c["mtp_depth"]) * d * c["vocab_size"]
    attention_scores = layers * 6 * seq_len * h * (qk + c["v_head_dim"])
    return 6 * (params + heads) + attention_scores
