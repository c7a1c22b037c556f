# %% [markdown]
# # Scarce medical images: synthetic scans per class
#
# Medical image sets are small and imbalanced: BreastMNIST has 546 training ultrasound scans,
# 147 of them malignant. This example fits synthgan's class-conditional image GAN, puts real
# and synthetic scans side by side per class, and measures what the synthetic scans are
# worth: a small CNN trained on synthetic scans only, and one trained on real + synthetic,
# both tested on real scans the generator never saw.
#
# It runs on BreastMNIST (`breastmnist.npz`, see `datasets/breastmnist.md`; downloaded from
# Zenodo into `~/.cache/synthgan` when the network allows) and falls back to scikit-learn's
# 8x8 digits. The default is a small run (under a minute on 2 CPU cores) whose images are
# still blurry; `--full` trains for 300 epochs (tens of minutes on a CPU, a few on a GPU).

# %%
import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from synthgan import ImageSynthesizer, evaluate
from synthgan.datasets import load
from synthgan.errors import InputFileError
from synthgan.evaluation.image_classifier import train_classifier
from synthgan.evaluation.image_utility import scores
from synthgan.image.grid import labelled_grid

HERE = Path(globals().get("__file__", "medical_images.py")).resolve().parent
OUTPUT = Path(os.environ.get("SYNTHGAN_EXAMPLES_OUT", HERE / "output"))
parser = argparse.ArgumentParser(description="Fit the image GAN on scarce medical images and measure its use.")
parser.add_argument("--full", action="store_true", help="300 epochs, the library default (the real run)")
parser.add_argument("--out", type=Path, default=OUTPUT / "medical_images", help="folder for the outputs")
parser.add_argument("--seed", type=int, default=0)
args, _ = parser.parse_known_args()  # parse_known_args: a notebook kernel passes arguments of its own
EPOCHS = 300 if args.full else 12
args.out.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## The images
#
# The test split stays unseen by the generator; every score below is measured on it.

# %%
try:
    (x_train, y_train), (x_test, y_test) = (load("breastmnist", split=s) for s in ("train", "test"))
    source, names = "BreastMNIST", {0: "malignant", 1: "benign"}
except InputFileError as exc:
    print(f"BreastMNIST is not available ({exc}).\nUsing scikit-learn's digits instead.")
    (x_train, y_train), (x_test, y_test) = (load("digits", split=s) for s in ("train", "test"))
    source, names = "digits (scikit-learn)", {d: str(d) for d in range(10)}
print(f"{source}: {len(x_train)} training images {x_train.shape[1:]}, per class {np.bincount(y_train).tolist()}; "
      f"{len(x_test)} test images")

# %% [markdown]
# ## Fit the class-conditional GAN
#
# Labels make it conditional: `sample(n, labels=[...])` draws images of the classes asked
# for. DiffAugment is on by default below 10,000 images, which is what keeps a GAN from
# memorising a few hundred scans.

# %%
start = time.perf_counter()
gen = ImageSynthesizer(epochs=EPOCHS, seed=args.seed, verbose=False).fit(x_train, y_train)
fit_s = time.perf_counter() - start
x_synth, y_synth = gen.sample(len(x_train), seed=args.seed, return_labels=True)  # the training class balance
y_synth = np.asarray(y_synth)
print(f"fitted {EPOCHS} epochs in {fit_s:.1f} s; sampled {len(x_synth)} images")

# %% [markdown]
# ## Real and synthetic, per class
#
# Look for blur, artefacts, copies of real scans, and a class whose samples all look alike
# (mode collapse).

# %%
rows = []
for label, name in names.items():
    rows.append((f"real {name}", x_train[y_train == label][:8]))
    rows.append((f"synthetic {name}", gen.sample(8, labels=[label] * 8, seed=args.seed)))
grid = labelled_grid(rows, scale=max(1, 56 // x_train.shape[1]))
grid.save(args.out / "grid.png")
grid

# %% [markdown]
# ## What the synthetic images are worth
#
# `evaluate` on images trains a small CNN on the real images (TRTR) and the same CNN on the
# synthetic ones (TSTR), both tested on the real test images, and measures fidelity in that
# CNN's feature space. The augmented arm, real + synthetic, uses the same CNN.

# %%
report = evaluate((x_train, y_train), (x_synth, y_synth), (x_test, y_test), seed=args.seed, verbose=False,
                  title=f"Synthetic images: {source}")
report.to_html(args.out / "report.html")
print(report.summary())

# %%
n_classes = len(names)
augmented = train_classifier(
    np.concatenate([x_train, x_synth])[..., None], np.concatenate([y_train, y_synth]), n_classes, args.seed
)
utility = report["image_utility"].details["scores"]
arms = {
    "real only (TRTR)": utility["trained on real (TRTR)"],
    "synthetic only (TSTR)": utility["trained on synthetic (TSTR)"],
    "real + synthetic": scores(augmented, x_test[..., None], y_test),
}
for arm, result in arms.items():
    print(f"{arm:24s} " + "  ".join(f"{k} {v:.3f}" for k, v in result.items() if v is not None))

# %% [markdown]
# ## Outputs
#
# The model file, the grid and the report (open `report.html` in a browser).

# %%
gen.save(args.out / "images.synth")
summary = {
    "source": source,
    "epochs": EPOCHS,
    "fit_seconds": round(fit_s, 1),
    "train_images": len(x_train),
    "synthetic_images": len(x_synth),
    "classifier": arms,
    "domain_fid": report["image_fidelity"].details.get("domain_fid"),
    "utility_verdict": report["image_utility"].verdict,
}
(args.out / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
print(json.dumps(summary, indent=2, default=float))
