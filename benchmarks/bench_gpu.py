"""Throughput on an accelerator with the JAX backend: train and inference segments/s, float32
vs mixed bfloat16, as a fraction of the device's own measured bfloat16 matmul peak.

    KERAS_BACKEND=jax python benchmarks/bench_gpu.py                   # the table, < 5 min on an H100
    KERAS_BACKEND=jax python benchmarks/bench_gpu.py --data DIR        # + the input pipeline's rate
    KERAS_BACKEND=jax python benchmarks/bench_gpu.py --quick           # seconds, on any device (a test)

For each model (`samplecnn`, `se`, `resse`) and policy: one jitted training step (the model's
`stateless_call`, its gradient and the SGD-Nesterov update in one XLA program: JAX always
compiles with XLA) and one jitted forward pass, timed over `--seconds` after a warm-up, at
batch 23 (the papers') and at the largest batch of `--batches` that fits in the device's
memory. FLOPs per step come from XLA's own cost analysis of the compiled step, so the
achieved fraction of the peak needs no convention. The peak is the best of a few square
matmuls of `--matmul-size` in bfloat16 and float32 on the same device, in the same run.

`--data` takes a converted folder (`manifest.json`): the TensorFlow-free reader
(`keras_samplecnn.data.portable`) reads its training split with this machine's cores, the
rate the training steps need to be fed. Without TensorFlow installed this is the reader
training uses.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import keras  # noqa: E402

MODELS = ("samplecnn", "se", "resse")
POLICIES = ("float32", "mixed_bfloat16")


def _best_seconds(function, args, repeats):
    """The fastest of `repeats` timed calls after one warm-up (results waited for)."""
    import jax

    jax.block_until_ready(function(*args))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(function(*args))
        best = min(best, time.perf_counter() - start)
    return best


def matmul_peak(dtype, size, repeats=5):
    """FLOP/s of a jitted `size`² matmul in `dtype` on the default JAX device."""
    import jax
    import jax.numpy as jnp

    a = jax.random.normal(jax.random.PRNGKey(0), (size, size), dtype=jnp.float32).astype(dtype)
    return 2 * size**3 / _best_seconds(jax.jit(lambda x: x @ x), (a,), repeats)


def compiled_flops(jitted, *args):
    """FLOPs XLA counts in the compiled program (None where the backend does not say)."""
    try:
        analysis = jitted.lower(*args).compile().cost_analysis()
    except Exception:  # an older jax, or a backend without cost analysis
        return None
    if isinstance(analysis, (list, tuple)):
        analysis = analysis[0] if analysis else {}
    flops = (analysis or {}).get("flops")
    return float(flops) if flops else None


def steps(name, policy, num_classes=50, **overrides):
    """`(model, train_step, infer_step, state)`: jitted pure functions of one model."""
    import jax

    keras.backend.clear_session()
    model = __import__("keras_samplecnn").build(name, num_classes=num_classes, dtype=policy, **overrides)
    optimizer = keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True)
    optimizer.build(model.trainable_variables)
    loss_fn = keras.losses.BinaryCrossentropy()

    def loss_of(trainable, non_trainable, x, y):
        scores, non_trainable = model.stateless_call(trainable, non_trainable, x, training=True)
        return loss_fn(y, scores), non_trainable

    grad_fn = jax.value_and_grad(loss_of, has_aux=True)

    @jax.jit
    def train_step(state, x, y):
        trainable, non_trainable, opt_vars = state
        (loss, non_trainable), grads = grad_fn(trainable, non_trainable, x, y)
        trainable, opt_vars = optimizer.stateless_apply(opt_vars, grads, trainable)
        return loss, (trainable, non_trainable, opt_vars)

    @jax.jit
    def infer_step(state, x):
        trainable, non_trainable, _ = state
        return model.stateless_call(trainable, non_trainable, x, training=False)[0]

    state = (
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
        [v.value for v in optimizer.variables],
    )
    return model, train_step, infer_step, state


def rate(call, batch, seconds):
    """Segments/s of `call()` (which returns something to wait for), after two warm-up calls."""
    import jax

    for _ in range(2):
        jax.block_until_ready(call())
    done, start = 0, time.perf_counter()
    while done < 3 or time.perf_counter() - start < seconds:
        out = call()
        done += 1
    jax.block_until_ready(out)
    return done * batch / (time.perf_counter() - start)


def is_out_of_memory(error):
    text = str(error)
    return "RESOURCE_EXHAUSTED" in text or "Out of memory" in text or "out of memory" in text


def measure(name, policy, batch, seconds, overrides):
    """`{"train", "infer" (segments/s), "train_flops", "infer_flops" (per step)}` at `batch`."""
    import jax.numpy as jnp

    model, train_step, infer_step, state = steps(name, policy, **overrides)
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((batch, model.input_length)).astype("float32") * 0.1)
    y = jnp.asarray((rng.random((batch, 50)) > 0.9).astype("float32"))
    result = {"train_flops": compiled_flops(train_step, state, x, y), "infer_flops": compiled_flops(infer_step, state, x)}
    holder = {"state": state}

    def train():
        loss, holder["state"] = train_step(holder["state"], x, y)
        return loss

    result["train"] = rate(train, batch, seconds)
    result["infer"] = rate(lambda: infer_step(holder["state"], x), batch, seconds)
    return result


def largest_batch(name, policy, batches, seconds, overrides):
    """`(batch, measure(...))` at the largest of `batches` whose training step fits."""
    best = None
    for batch in sorted(batches):
        try:
            best = (batch, measure(name, policy, batch, seconds, overrides))
        except Exception as error:  # XlaRuntimeError: the device's memory is the limit
            if not is_out_of_memory(error):
                raise
            break
    return best


def pipeline_rate(data, segment_length, batch, seconds):
    """Segments/s the TensorFlow-free reader delivers from `data`'s training split."""
    from keras_samplecnn.data import portable

    batches = portable.train_batches(data, "train", segment_length=segment_length, batch_size=batch,
                                     crops_per_clip="all", seed=0, prefetch=4)  # fmt: skip
    next(batches)
    done, start = 0, time.perf_counter()
    while done < 3 or time.perf_counter() - start < seconds:
        next(batches)
        done += 1
    return done * batch / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--policies", nargs="+", default=list(POLICIES))
    parser.add_argument("--batches", default="23,64,128,256,512", help="batch sizes tried for the largest that fits")
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per measurement")
    parser.add_argument("--matmul-size", type=int, default=8192)
    parser.add_argument("--data", help="a converted folder: also the input pipeline's rate")
    parser.add_argument("--quick", action="store_true",
                        help="tiny models, batches and matmuls: checks the script in seconds on any device")  # fmt: skip
    args = parser.parse_args(argv)
    if keras.backend.backend() != "jax":
        raise SystemExit("run with KERAS_BACKEND=jax (the accelerator machines have JAX, not TensorFlow)")
    import jax
    import jax.numpy as jnp

    overrides = {}
    batches = [int(b) for b in args.batches.split(",")]
    if args.quick:  # the structure of every model at a size a CPU runs in seconds
        overrides = {"n": 4, "input_length": 243, "stem_filters": 4, "filters": [4, 4, 8, 8]}
        batches, args.seconds, args.matmul_size = [4, 8], min(args.seconds, 0.2), min(args.matmul_size, 256)
    device = jax.devices()[0]
    peaks = {dtype: matmul_peak(getattr(jnp, dtype), args.matmul_size) for dtype in ("bfloat16", "float32")}
    print(f"Device: {device.device_kind} ({device.platform}), jax {jax.__version__}, keras {keras.__version__}")
    print(f"Matmul peak ({args.matmul_size}²): bfloat16 {peaks['bfloat16'] / 1e12:.1f} TFLOP/s, "
          f"float32 {peaks['float32'] / 1e12:.1f} TFLOP/s")  # fmt: skip
    print()
    print("| model | policy | batch | train seg/s | % of bf16 peak | infer seg/s | % of bf16 peak |")
    print("|---|---|---:|---:|---:|---:|---:|")
    rows = []
    for name in args.models:
        for policy in args.policies:
            at_23 = (batches[0], measure(name, policy, batches[0], args.seconds, overrides))
            largest = largest_batch(name, policy, batches[1:], args.seconds, overrides)
            for batch, result in [at_23] + ([largest] if largest else []):
                cells = []
                for kind in ("train", "infer"):
                    flops = result[f"{kind}_flops"]
                    share = "" if flops is None else f"{100 * flops * result[kind] / batch / peaks['bfloat16']:.1f}"
                    cells += [f"{result[kind]:,.0f}", share]
                print(f"| `{name}` | {policy} | {batch} | " + " | ".join(cells) + " |", flush=True)
                rows.append({"model": name, "policy": policy, "batch": batch, **result})
    if args.data:
        length = overrides.get("input_length", 59049)
        print(f"\nInput pipeline (TensorFlow-free reader, {os.cpu_count()} cores): "
              f"{pipeline_rate(args.data, length, batches[0], args.seconds):,.0f} segments/s of {length} samples")  # fmt: skip
    return rows


if __name__ == "__main__":
    main()
