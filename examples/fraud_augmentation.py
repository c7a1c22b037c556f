# %% [markdown]
# # Rare fraud cases: augment a classifier with synthetic fraud
#
# Fraud is rare (about 6% of insurance claims), so a classifier sees few examples of it. This
# example fits synthgan's tabular GAN on the training claims, samples extra *fraudulent*
# claims with `conditions`, releases them through a privacy filter, retrains a classifier on
# real + synthetic fraud, and reads the evidence report: did the synthetic rows help
# (augmentation lift), and do they give away training rows (privacy)?
#
# It runs on the fraud table (`fraud_oracle.csv`, see `datasets/fraud.md`) when it is in
# `$SYNTHGAN_DATASETS`, `../shared/datasets` or `~/.cache/synthgan`, else on scikit-learn's
# breast cancer table (the rarer class, `malignant`, plays the fraud). The default is a small
# run, about a minute on 2 CPU cores, whose numbers are only indicative; `--full` is the
# real run (300 epochs, several minutes on a CPU, about a minute on a GPU).

# %%
import argparse
import json
import os
import time
from pathlib import Path

import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, recall_score
from sklearn.model_selection import train_test_split

from synthgan import PrivacyFilter, TabularSynthesizer, evaluate
from synthgan.datasets import load
from synthgan.errors import InputFileError
from synthgan.io import write_table
from synthgan.schema import ColumnKind, detect_schema

HERE = Path(globals().get("__file__", "fraud_augmentation.py")).resolve().parent
OUTPUT = Path(os.environ.get("SYNTHGAN_EXAMPLES_OUT", HERE / "output"))
parser = argparse.ArgumentParser(description="Augment rare fraud cases with synthetic ones.")
parser.add_argument("--full", action="store_true", help="300 epochs on the whole table (the real run)")
parser.add_argument("--out", type=Path, default=OUTPUT / "fraud_augmentation", help="folder for the outputs")
parser.add_argument("--seed", type=int, default=0)
args, _ = parser.parse_known_args()  # parse_known_args: a notebook kernel passes arguments of its own
EPOCHS = 300 if args.full else 10
args.out.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## The data
#
# A stratified 25% is held out: the generator never sees it, and every score below is measured
# on it.

# %%
try:
    data, TARGET, FRAUD = load("fraud", download=False), "FraudFound_P", 1
    source = "fraud table (fraud_oracle.csv)"
except InputFileError as exc:
    print(f"The fraud table is not available ({exc}).\nUsing scikit-learn's breast cancer table instead.")
    data, TARGET, FRAUD = load("breast_cancer"), "diagnosis", "malignant"
    source = "breast cancer (scikit-learn)"
if not args.full and len(data) > 6000:  # the small run fits on a stratified subsample
    data = train_test_split(data, train_size=6000, stratify=data[TARGET], random_state=args.seed)[0]
train, test = train_test_split(data, test_size=0.25, stratify=data[TARGET], random_state=args.seed)
print(f"{source}: {len(train)} training rows ({(train[TARGET] == FRAUD).sum()} fraud), {len(test)} held out")

# %% [markdown]
# ## Fit, then sample fraud only
#
# `conditions={TARGET: FRAUD}` feeds the class to the generator's conditional vector, so every
# row comes out fraudulent without wasting draws. The `PrivacyFilter` drops rows that copy a
# training row, sit closer to one than 95% of genuinely new rows do, or single out a person.

# %%
start = time.perf_counter()
synth = TabularSynthesizer(epochs=EPOCHS, batch_size=500 if len(train) > 2000 else 100, seed=args.seed, verbose=False)
synth.fit(train)
fit_s = time.perf_counter() - start
privacy_filter = PrivacyFilter(verbose=False).fit(train)
n_extra = 2 * int((train[TARGET] == FRAUD).sum())  # triple the fraud cases
extra_fraud = synth.sample(n_extra, conditions={TARGET: FRAUD}, seed=args.seed, privacy=privacy_filter)
print(f"fitted {EPOCHS} epochs in {fit_s:.1f} s; sampled {len(extra_fraud)} fraudulent rows")
extra_fraud.head()

# %% [markdown]
# ## Retrain a classifier
#
# The same gradient-boosted trees, trained on the real rows alone and on the real rows plus
# the synthetic fraud, scored on the held-out claims. PR AUC (average precision) is the
# number to watch for a rare class: it does not depend on a decision threshold.

# %%
schema = detect_schema(train)
FEATURES = [c.name for c in schema.columns if c.name != TARGET and c.kind is not ColumnKind.ID]
CATEGORIES = {c: sorted(data[c].dropna().astype(str).unique()) for c in FEATURES
              if not pd.api.types.is_numeric_dtype(data[c])}


def features(rows: pd.DataFrame) -> pd.DataFrame:
    X = rows[FEATURES].copy()
    for column, categories in CATEGORIES.items():
        X[column] = pd.Categorical(X[column].astype("string"), categories=categories)
    return X


def fraud_scores(rows: pd.DataFrame) -> dict:
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=args.seed)
    model.fit(features(rows), rows[TARGET] == FRAUD)
    proba = model.predict_proba(features(test))[:, 1]
    is_fraud = test[TARGET] == FRAUD
    return {"PR AUC": average_precision_score(is_fraud, proba), "recall": recall_score(is_fraud, proba > 0.5)}


classifier = {
    "real only": fraud_scores(train),
    "real + synthetic fraud": fraud_scores(pd.concat([train, extra_fraud], ignore_index=True)),
}
pd.DataFrame(classifier).T.round(3)

# %% [markdown]
# ## The evidence report
#
# `evaluate` compares a synthetic table with the real one. Here it is a general sample plus
# the extra fraud rows, so it holds more fraud than the real table: the fidelity section
# shows that column's shape differs, by design. The augmentation section adds every
# synthetic fraud row to the real training rows and scores two model families on the holdout.

# %%
synthetic = pd.concat([synth.sample(len(train), seed=args.seed + 1), extra_fraud], ignore_index=True)
report = evaluate(train, synthetic, holdout=test, target=TARGET, minority=FRAUD, seed=args.seed,
                  max_rows=2000 if not args.full else 5000, verbose=False,
                  title=f"Fraud augmentation: {source}")
report.to_html(args.out / "report.html")
print(report.summary())

# %%
lift = report["augmentation"]
print(lift.summary, f"\nverdict: {lift.verdict}")

# %%
privacy = report["privacy"]
print(f"verdict: {privacy.verdict}")
for item in privacy.headline:
    print(f"  {item.label}: {item.value if item.value is None else round(item.value, 3)}  ({item.meaning})")
print("\n".join(privacy.notes[:3]))

# %% [markdown]
# ## Outputs
#
# The model file, the synthetic fraud rows and the report (open `report.html` in a browser).

# %%
synth.save(args.out / "fraud.synth")
write_table(extra_fraud, args.out / "synthetic_fraud.csv")
summary = {
    "source": source,
    "epochs": EPOCHS,
    "fit_seconds": round(fit_s, 1),
    "train_rows": len(train),
    "synthetic_fraud_rows": len(extra_fraud),
    "classifier": classifier,
    "augmentation_lift": lift.details["lift"],
    "augmentation_verdict": lift.verdict,
    "privacy": {k: privacy.details[k] for k in ("mia_auc", "closer_to_train", "exact_match_rate")},
    "privacy_verdict": privacy.verdict,
}
(args.out / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
print(json.dumps(summary, indent=2, default=float))
