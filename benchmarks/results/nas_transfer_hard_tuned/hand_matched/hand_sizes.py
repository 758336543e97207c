# ruff: noqa
"""Post-hoc check (session 9, lead): hand-designed net width-matched to each tuned-PPO returned
cell's parameter count, 3 training seeds, the base run's large setting (code path of run_one's
large())."""
import json, sys, time
import torch
from benchmarks.nas_transfer_hard import noisy_mnist1d
from benchmarks.nas_transfer import _matched_width, hand_designed
from autolearn.nas import TrainConfig, train_child, count_parameters

torch.set_num_threads(1)
base = json.load(open("benchmarks/results/nas_transfer_hard.json"))["raw"]
tuned = json.load(open("benchmarks/results/nas_transfer_hard_tuned/nas_transfer_hard.json"))["raw"]
t, a = base["task"], base["args"]
data = noisy_mnist1d(a["seed"] + 1000, t["n_train"], t["n_val"], t["noise"])

def large(width, seed):
    train = TrainConfig(epochs=a["large_epochs"], lr=3e-3, lr_schedule="cosine", seed=seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = hand_designed(width, data.input_shape, data.num_classes)
    return train_child(model, data, train).val_accuracy

out = open("benchmarks/results/nas_transfer_hard_tuned/hand_matched/hand_sizes.jsonl", "a")
acc0 = large(56, 0)
print("repro width 56 seed 0:", acc0, "recorded", base["hand_designed"]["large"][0], flush=True)
targets = json.loads(sys.argv[1])
for seed_k, n_params in targets:
    w = _matched_width(n_params, data.input_shape, data.num_classes)
    n = count_parameters(hand_designed(w, data.input_shape, data.num_classes))
    accs = [large(w, s) for s in range(3)]
    r = {"search_seed": seed_k, "cell_params": n_params, "width": w, "hand_params": n, "large": accs}
    print(r, flush=True); out.write(json.dumps(r) + "\n"); out.flush()
