"""synthgan ImageSynthesizer on BreastMNIST: does a classifier learn from its images?

    python benchmarks/bench_images.py            # ImageSynthesizer's defaults (300 epochs)

Trains the class-conditional GAN on BreastMNIST's train split (546 ultrasound images,
28x28, 0 = malignant (27%), 1 = normal/benign), then trains one small CNN classifier per
arm and tests it on the real test split (156 images):
  real       - the real train split;
  synthetic  - synthetic images only, as many as the real split, same class balance;
  augmented  - the real split plus synthetic malignant images up to class balance.
Each arm is averaged over --clf-seeds classifier seeds. Also measures training and
sampling throughput (images/s) with AMP off and forced on, and writes a real-vs-synthetic
grid to benchmarks/breastmnist_grid.png. Results go to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

sys.path.insert(1, str(C.REPO_ROOT))
from synthgan.image import ImageSynthesizer  # noqa: E402
from synthgan.image.grid import labelled_grid  # noqa: E402

SECTION = "bench_images"


def classifier(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(), torch.nn.Dropout(0.3), torch.nn.Linear(64, 2),
    )


def train_classifier(x: np.ndarray, y: np.ndarray, seed: int, epochs: int = 40) -> torch.nn.Module:
    model = classifier(seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    xt = torch.from_numpy(x).float().unsqueeze(1) / 127.5 - 1
    yt = torch.from_numpy(y).long()
    weights = torch.tensor(len(y) / (2 * np.bincount(y, minlength=2)), dtype=torch.float)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(xt), generator=g).split(32):
            batch = xt[idx]
            if torch.rand(1, generator=g) < 0.5:
                batch = batch.flip(3)
            loss = torch.nn.functional.cross_entropy(model(batch), yt[idx], weight=weights)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def scores(model: torch.nn.Module, x: np.ndarray, y: np.ndarray) -> dict:
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, recall_score, roc_auc_score

    with torch.no_grad():
        p = torch.softmax(model(torch.from_numpy(x).float().unsqueeze(1) / 127.5 - 1), 1)[:, 1].numpy()
    pred = (p > 0.5).astype(int)
    return {
        "roc_auc": roc_auc_score(y, p),
        "accuracy": accuracy_score(y, pred),
        "balanced_accuracy": balanced_accuracy_score(y, pred),
        "minority_recall": recall_score(y, pred, pos_label=0),
    }


def throughput(x, y, epochs: int, amp, options: dict) -> tuple[float, float]:
    model = ImageSynthesizer(epochs=epochs, seed=0, verbose=False, amp=amp, **options).fit(x, y)
    train_rate = epochs * model.model_.steps_per_epoch * model.model_.batch_size / sum(model.history_.epoch_seconds)
    model.sample(64, seed=0)
    t0 = time.perf_counter()
    model.sample(4096, seed=1)
    return train_rate, 4096 / (time.perf_counter() - t0)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--clf-seeds", type=int, default=3)
    # GAN options left unset use ImageSynthesizer's defaults
    p.add_argument("--channels", type=int, help="base width of the GAN's networks")
    p.add_argument("--lr-g", type=float)
    p.add_argument("--lr-d", type=float)
    p.add_argument("--d-steps", type=int)
    p.add_argument("--class-loss", type=float, help="weight of the auxiliary class head (0: off)")
    p.add_argument("--data", help="path to breastmnist.npz")
    p.add_argument("--no-write", action="store_true")
    p.add_argument("--report", default="/tmp/breastmnist_report.html", help="where to write the evaluate() HTML")
    args = p.parse_args(argv)

    with np.load(C.dataset_path("breastmnist.npz", args.data)) as data:
        x_train, y_train = data["train_images"], data["train_labels"].reshape(-1)
        x_test, y_test = data["test_images"], data["test_labels"].reshape(-1)

    t0 = time.perf_counter()
    options = {
        "channels": args.channels, "generator_lr": args.lr_g, "discriminator_lr": args.lr_d,
        "d_steps": args.d_steps, "class_loss": args.class_loss,
    }
    options = {k: v for k, v in options.items() if v is not None}
    gen = ImageSynthesizer(epochs=args.epochs, seed=args.seed, verbose=True, **options)
    gen.fit(x_train, y_train)
    fit_s = time.perf_counter() - t0

    counts = np.bincount(y_train, minlength=2)
    syn_labels = np.repeat([0, 1], counts)
    x_syn = gen.sample(len(syn_labels), labels=syn_labels.tolist(), seed=args.seed + 1)
    extra = counts[1] - counts[0]
    x_min = gen.sample(int(extra), labels=[0] * int(extra), seed=args.seed + 2)
    arms = {
        "real": (x_train, y_train),
        "synthetic": (x_syn, syn_labels),
        "augmented": (np.concatenate([x_train, x_min]), np.concatenate([y_train, np.zeros(extra, int)])),
    }
    results = {}
    for name, (x, y) in arms.items():
        runs = [scores(train_classifier(x, y, seed), x_test, y_test) for seed in range(args.clf_seeds)]
        results[name] = {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}
        print(name, {k: round(v, 3) for k, v in results[name].items()})

    from synthgan import evaluate

    report = evaluate((x_train, y_train), (x_syn, syn_labels), (x_test, y_test), seed=args.seed, verbose=False)
    report.to_html(args.report)
    report_rows = [
        [section.title, h.label, C.fmt(h.value) if isinstance(h.value, float) else str(h.value)]
        for section in report.sections
        for h in section.headline
    ]

    grid_rows = []
    for label, name in ((0, "malignant"), (1, "benign")):
        grid_rows.append((f"real {name}", x_train[y_train == label][:10]))
        grid_rows.append((f"synthetic {name}", gen.sample(10, labels=[label] * 10, seed=3)))
    grid_path = Path(__file__).resolve().parent / "breastmnist_grid.png"
    if args.no_write:  # leave the committed grid alone; the run's grid goes beside the report
        grid_path = Path(args.report).with_suffix(".png")
    labelled_grid(grid_rows, scale=3).save(grid_path)

    options_shown = ("channels", "d_steps", "generator_lr", "discriminator_lr", "class_loss")
    speed_epochs = 3
    fp32 = throughput(x_train, y_train, speed_epochs, False, options)
    bf16 = throughput(x_train, y_train, speed_epochs, True, options)

    machine = C.machine()
    rows = [[arm] + [C.fmt(results[arm][k]) for k in ("roc_auc", "accuracy", "balanced_accuracy", "minority_recall")]
            for arm in arms]
    body = "\n".join([
        "## bench_images: ImageSynthesizer on BreastMNIST",
        "",
        f"Command: `python {' '.join(['benchmarks/bench_images.py'] + list(argv if argv is not None else sys.argv[1:]))}` "
        f"({machine.get('date', '')})",
        f"Machine: {machine}",
        "",
        f"GAN fit ({', '.join(f'{k}={getattr(gen.config_, k)}' for k in options_shown)}): {args.epochs} epochs on 546 train images in {fit_s:.0f} s ({gen.history_.precision}, "
        f"{gen.history_.device}). Classifier: a 3-layer CNN, mean of {args.clf_seeds} seeds, tested on the "
        "156 real test images (class 0, malignant, is the minority and the recall column's class).",
        "",
        C.markdown_table(["trained on", "ROC AUC", "accuracy", "balanced accuracy", "malignant recall"], rows),
        "",
        C.markdown_table(
            ["precision", "training images/s", "sampling images/s"],
            [["fp32 (amp=False; the CPU default)", C.fmt(fp32[0], 3), C.fmt(fp32[1], 3)],
             ["bf16 autocast (amp=True)", C.fmt(bf16[0], 3), C.fmt(bf16[1], 3)]],
        ),
        "",
        "Grid (rows: real and synthetic, per class): `benchmarks/breastmnist_grid.png`.",
        "",
        "`synthgan.evaluate((x_train, y_train), (x_syn, y_syn), (x_test, y_test))` on the same synthetic set:",
        "",
        C.markdown_table(["section", "measure", "value"], report_rows),
    ])
    print(body)
    if not args.no_write:
        C.write_section(SECTION, body)


if __name__ == "__main__":
    main()
