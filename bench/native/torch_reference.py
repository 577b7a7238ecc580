"""Native reference for `npm run bench`: the LLaVA-1.5-7B shape in Hugging Face transformers
(PyTorch fp16, eager, random weights built from a config: nothing is downloaded), on the GPU
machine, in the same session as the WebGPU figures.

Measured, each as median and spread over --runs after --warmup:
  vision     CLIP ViT-L/336 tower (feature layer -2, CLS dropped) + projector, 576 tokens
  prefill    the language model over pre + 576 visual + text tokens, last-position logits:
             `standard` through LlamaModel.forward (HF's own mask/rotary path), and
             `layers` through our manual layer loop (the loop the schedule replay uses), so the
             replay's overhead against HF's forward is visible
  schedules  the SparseVLM token schedules replayed in the manual loop: after the stage layers
             the hidden states are sliced to the planned visual counts (plan.json, written from
             the TypeScript schedule so both sides run the same counts); positions renumbered
             (v1.5). Scoring kernels are NOT run: this is the schedule's best case.
  decode     an eager greedy loop of --tokens tokens after each prefill, one token through every
             layer against that layer's own KV cache (pruned caches are shorter)

Usage: python3 torch_reference.py --plan plan.json --out native.json [--runs 5] [--warmup 2]
       [--tokens 64] [--dry-run]   (dry run: print the plan's slices, no torch needed)

The pure planning functions (top of file) are tested without torch by test_torch_reference.py.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

# ---------------------------------------------------------------- planning (no torch)


def stage_cuts(visual_per_layer: list[int]) -> list[tuple[int, int]]:
    """(layer after which to cut, visual count entering the next layer) wherever the count
    entering layer l+1 differs from layer l. Counts must never grow."""
    cuts = []
    for layer in range(len(visual_per_layer) - 1):
        now, nxt = visual_per_layer[layer], visual_per_layer[layer + 1]
        if nxt > now:
            raise ValueError(f"visual count grows after layer {layer}: {now} -> {nxt}")
        if nxt != now:
            cuts.append((layer, nxt))
    return cuts


def kept_rows(pre: int, visual_in: int, visual_out: int, text: int) -> list[int]:
    """Rows of the current sequence [pre | visual_in | text] that survive a cut to visual_out
    visual tokens. Which visual rows survive does not change the cost; we keep evenly spaced
    ones (deterministic, spread over the image like a real selection)."""
    if not 0 < visual_out <= visual_in:
        raise ValueError(f"cannot cut {visual_in} visual tokens to {visual_out}")
    step = visual_in / visual_out
    visual = [pre + int(i * step) for i in range(visual_out)]
    return list(range(pre)) + visual + list(range(pre + visual_in, pre + visual_in + text))


def sequence_lengths(pre: int, text: int, visual_per_layer: list[int]) -> list[int]:
    """Tokens entering each layer (= KV length each layer holds after prefill)."""
    return [pre + v + text for v in visual_per_layer]


def spread(values: list[float]) -> dict:
    s = sorted(values)
    q = statistics.quantiles(s, n=4, method="inclusive") if len(s) > 1 else [s[0], s[0], s[0]]
    return {"median": statistics.median(s), "min": s[0], "max": s[-1], "q1": q[0], "q3": q[2], "n": len(s)}


def check_plan(plan: dict) -> None:
    layers = plan["dims"]["numLayers"]
    for spec, counts in plan["schedules"].items():
        if len(counts) != layers:
            raise ValueError(f"plan {spec}: {len(counts)} counts for {layers} layers")
        if counts[0] != plan["visualTokens"]:
            raise ValueError(f"plan {spec}: layer 0 sees {counts[0]}, not {plan['visualTokens']}")
        stage_cuts(counts)


# ---------------------------------------------------------------- torch side


def build_model(plan: dict):
    import torch
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration

    d = plan["dims"]
    text = LlamaConfig(
        hidden_size=d["hiddenSize"], num_hidden_layers=d["numLayers"], num_attention_heads=d["numHeads"],
        num_key_value_heads=d["numKvHeads"], intermediate_size=d["intermediateSize"], vocab_size=plan["vocabSize"],
        max_position_embeddings=4096, rms_norm_eps=1e-5, rope_theta=d["ropeTheta"],
    )
    vision = CLIPVisionConfig(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                              image_size=336, patch_size=14, hidden_act="quick_gelu", projection_dim=768)
    config = LlavaConfig(vision_config=vision, text_config=text, image_token_index=plan["imageTokenId"],
                         vision_feature_layer=-2, vision_feature_select_strategy="default", projector_hidden_act="gelu")
    config._attn_implementation = "sdpa"
    torch.manual_seed(0)
    # Built on the GPU in fp16 directly (a 7B model in fp32 on the CPU would cost 28 GB and minutes).
    with torch.device("cuda"):
        prev = torch.get_default_dtype()
        torch.set_default_dtype(torch.float16)
        try:
            model = LlavaForConditionalGeneration(config)
        finally:
            torch.set_default_dtype(prev)
    return model.eval()


def parts(model):
    """(vision_tower, projector, language_model (LlamaModel), lm_head) across transformers versions."""
    inner = getattr(model, "model", model)
    vt = getattr(inner, "vision_tower", None) or model.vision_tower
    proj = getattr(inner, "multi_modal_projector", None) or model.multi_modal_projector
    lm = getattr(inner, "language_model", None) or model.language_model
    lm = getattr(lm, "model", lm)  # older layouts wrap LlamaModel in LlamaForCausalLM
    return vt, proj, lm, model.lm_head


def run(plan: dict, args, save=lambda result: None) -> dict:
    import torch
    from transformers import DynamicCache

    dev = "cuda"
    model = build_model(plan)
    vt, proj, lm, head = parts(model)
    pre, text, vp = plan["preLength"], plan["textLength"], plan["visualTokens"]
    D = plan["dims"]["hiddenSize"]
    sync = torch.cuda.synchronize

    def timed(fn, runs=args.runs, warmup=args.warmup):
        for _ in range(warmup):
            fn()
        sync()
        out = []
        for _ in range(runs):
            t0 = time.perf_counter()
            fn()
            sync()
            out.append((time.perf_counter() - t0) * 1000)
        return out

    g = torch.Generator(device=dev).manual_seed(0)
    pixels = torch.randn(1, 3, 336, 336, device=dev, dtype=torch.float16, generator=g)
    embeds = (torch.randn(1, pre + vp + text, D, device=dev, dtype=torch.float16, generator=g) * 0.02)

    @torch.inference_mode()
    def vision():
        hs = vt(pixels, output_hidden_states=True).hidden_states[-2][:, 1:]
        return proj(hs)

    @torch.inference_mode()
    def standard_prefill():
        out = lm(inputs_embeds=embeds, use_cache=True)
        return head(out.last_hidden_state[:, -1:])

    import inspect
    # transformers renamed the layer's cache argument (past_key_value → past_key_values, 4.56).
    cache_kw = "past_key_values" if "past_key_values" in inspect.signature(lm.layers[0].forward).parameters else "past_key_value"

    def layer_call(layer, hidden, pos, cache):
        pe = lm.rotary_emb(hidden, pos)
        # attention_mask None: SDPA runs causal for S > 1 and attends to the whole cache for S = 1.
        out = layer(hidden, attention_mask=None, position_ids=pos, use_cache=True, position_embeddings=pe,
                    cache_position=pos[0], **{cache_kw: cache})
        return out[0] if isinstance(out, tuple) else out

    @torch.inference_mode()
    def manual_prefill(counts):
        """Layers by hand; after each cut the sequence is sliced (v1.5 renumbers positions)."""
        cuts = dict(stage_cuts(counts))
        cache = DynamicCache()
        hidden = embeds
        visual = counts[0]
        for i, layer in enumerate(lm.layers):
            L = hidden.shape[1]
            pos = torch.arange(L, device=dev).unsqueeze(0)
            hidden = layer_call(layer, hidden, pos, cache)
            if i in cuts:
                rows = torch.tensor(kept_rows(pre, visual, cuts[i], text), device=dev)
                hidden = hidden.index_select(1, rows)
                visual = cuts[i]
        logits = head(lm.norm(hidden[:, -1:]))
        return cache, logits

    @torch.inference_mode()
    def decode(cache, logits, counts, tokens):
        """Eager greedy loop; each layer's cache has its own length; the new token's position
        is the last layer's sequence length + step (renumbered positions, v1.5)."""
        lengths = sequence_lengths(pre, text, counts)
        emb = lm.embed_tokens
        for step in range(tokens):
            tok = logits[:, -1].argmax(-1, keepdim=True)
            hidden = emb(tok)
            for i, layer in enumerate(lm.layers):
                pos = torch.tensor([[lengths[i] + step]], device=dev)
                hidden = layer_call(layer, hidden, pos, cache)
            logits = head(lm.norm(hidden))
        return logits

    result = {"schema": 1, "tool": "torch_reference.py", "runs": args.runs, "warmup": args.warmup, "tokens": args.tokens}
    result["environment"] = {
        "torch": torch.__version__, "cuda": torch.version.cuda, "gpu": torch.cuda.get_device_name(0),
        "transformers": __import__("transformers").__version__, "dtype": "float16", "attention": "sdpa",
        "mode": "eager (no CUDA graphs, no torch.compile)",
    }
    result["layout"] = {"preLength": pre, "visualTokens": vp, "textLength": text}
    torch.cuda.reset_peak_memory_stats()
    result["weightsBytes"] = torch.cuda.memory_allocated()
    result["visionMs"] = spread(timed(vision))
    result["prefillStandardMs"] = spread(timed(standard_prefill))

    # The manual loop must be the same computation as HF's forward (unpruned), and its caches
    # must hold what the decode loop assumes: checked once, recorded.
    with torch.inference_mode():
        ref = standard_prefill().float()
        cache, mine = manual_prefill(plan["schedules"]["none"])
        lengths = [cache.get_seq_length(i) for i in range(len(lm.layers))]
        decode(cache, mine, plan["schedules"]["none"], 1)
        grown = cache.get_seq_length(0)
    result["check"] = {
        "manualVsStandardMaxAbsLogitDiff": (mine.float() - ref).abs().max().item(),
        "logitScale": ref.abs().max().item(),
        "cacheLengthsAfterPrefill": sorted(set(lengths)),
        "cacheLengthAfterOneDecodeStep": grown,
    }
    if set(lengths) != {pre + vp + text} or grown != pre + vp + text + 1:
        raise RuntimeError(f"manual loop's KV cache is not what decode assumes: {result['check']}")
    print(f"native check: {result['check']}", file=sys.stderr)
    del cache

    methods = {}
    result["methods"] = methods
    save(result)  # written after every phase: a run cut short by its time limit keeps what it measured
    for spec, counts in plan["schedules"].items():
        torch.cuda.reset_peak_memory_stats()
        prefill_ms = spread(timed(lambda: manual_prefill(counts)))
        decode_tps = []
        for _ in range(max(1, args.decode_runs)):
            cache, logits = manual_prefill(counts)
            sync()
            t0 = time.perf_counter()
            decode(cache, logits, counts, args.tokens)
            sync()
            decode_tps.append(args.tokens / (time.perf_counter() - t0))
            del cache
        methods[spec] = {
            "visualPerLayer": counts,
            "prefillLayersMs": prefill_ms,
            "decodeTokPerS": spread(decode_tps),
            "peakBytes": torch.cuda.max_memory_allocated(),
        }
        print(f"native {spec}: prefill {prefill_ms['median']:.2f} ms, decode {statistics.median(decode_tps):.1f} tok/s",
              file=sys.stderr)
        save(result)
    none = methods.get("none")
    if none:
        for m in methods.values():
            m["ratios"] = {
                "prefillLayersMs": m["prefillLayersMs"]["median"] / none["prefillLayersMs"]["median"],
                "decodeTokPerS": m["decodeTokPerS"]["median"] / none["decodeTokPerS"]["median"],
            }
    result["methods"] = methods
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--plan", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--tokens", type=int, default=64)
    p.add_argument("--decode-runs", type=int, default=2)
    p.add_argument("--dry-run", action="store_true")
    args = p.parse_args(argv)
    with open(args.plan) as f:
        plan = json.load(f)
    check_plan(plan)
    if args.dry_run:
        for spec, counts in plan["schedules"].items():
            print(spec, "cuts:", stage_cuts(counts), "kv lengths:", sequence_lengths(plan["preLength"], plan["textLength"], counts)[:1], "...")
        return 0
    def save(result: dict) -> None:
        with open(args.out + ".tmp", "w") as f:
            json.dump(result, f, indent=1)
        os.replace(args.out + ".tmp", args.out)

    save(run(plan, args, save))
    return 0


if __name__ == "__main__":
    sys.exit(main())
