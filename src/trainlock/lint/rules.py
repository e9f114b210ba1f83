"""The rules of `trainlock lint`, declared as data, and the knowledge they use.

Each rule has a stable code (``TL`` + three digits; never reuse a retired one), a short
name and the one-line advice printed with every finding.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    advice: str


RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        Rule(
            "TL001",
            "hard-coded-hyperparameter",
            "read it from the config (run.config) so the config stays the single source of truth",
        ),
        Rule("TL002", "missing-random-state", "pass random_state=run.seed_for('<scope>') (or a seed from the config)"),
        Rule(
            "TL003",
            "unseeded-global-rng",
            "draw from a generator seeded with run.seed_for(...), or run inside trainlock run / trainlock.start()",
        ),
        Rule("TL004", "set-iteration-order", "iterate sorted(...) instead: a set's order changes with PYTHONHASHSEED"),
        Rule("TL005", "unsorted-listing", "wrap the listing in sorted(...): the file system promises no order"),
        Rule(
            "TL006",
            "wall-clock-in-training",
            "derive it from the config or run.seed_for(...); time and uuid4 differ on every run",
        ),
    )
}

#: keyword arguments whose literal value is a hyperparameter that belongs in the config
HYPERPARAMETERS = frozenset(
    {
        "C",
        "alpha",
        "batch_size",
        "colsample_bytree",
        "degree",
        "dropout",
        "epochs",
        "epsilon",
        "eta",
        "gamma",
        "hidden_layer_sizes",
        "l1_ratio",
        "l2_regularization",
        "learning_rate",
        "lr",
        "max_bins",
        "max_depth",
        "max_features",
        "max_iter",
        "max_leaf_nodes",
        "min_child_samples",
        "min_child_weight",
        "min_samples_leaf",
        "min_samples_split",
        "momentum",
        "n_clusters",
        "n_components",
        "n_estimators",
        "n_neighbors",
        "num_leaves",
        "reg_alpha",
        "reg_lambda",
        "subsample",
        "weight_decay",
    }
)

#: callables that accept random_state (scikit-learn, LightGBM, XGBoost); shuffling splitters
#: (KFold, StratifiedKFold) only use it with shuffle=True and are handled apart
RANDOM_STATE_CALLABLES = frozenset(
    {
        "AdaBoostClassifier",
        "AdaBoostRegressor",
        "BaggingClassifier",
        "BaggingRegressor",
        "DecisionTreeClassifier",
        "DecisionTreeRegressor",
        "ExtraTreeClassifier",
        "ExtraTreeRegressor",
        "ExtraTreesClassifier",
        "ExtraTreesRegressor",
        "GaussianMixture",
        "GradientBoostingClassifier",
        "GradientBoostingRegressor",
        "GroupShuffleSplit",
        "HistGradientBoostingClassifier",
        "HistGradientBoostingRegressor",
        "IsolationForest",
        "KMeans",
        "LGBMClassifier",
        "LGBMRanker",
        "LGBMRegressor",
        "LinearSVC",
        "LogisticRegression",
        "MLPClassifier",
        "MLPRegressor",
        "MiniBatchKMeans",
        "PCA",
        "PassiveAggressiveClassifier",
        "Perceptron",
        "RandomForestClassifier",
        "RandomForestRegressor",
        "RandomizedSearchCV",
        "RepeatedKFold",
        "RepeatedStratifiedKFold",
        "SGDClassifier",
        "SGDRegressor",
        "SVC",
        "ShuffleSplit",
        "StratifiedShuffleSplit",
        "TSNE",
        "TruncatedSVD",
        "XGBClassifier",
        "XGBRanker",
        "XGBRegressor",
        "permutation_importance",
        "train_test_split",
    }
)
SHUFFLING_SPLITTERS = frozenset({"KFold", "StratifiedKFold", "GroupKFold"})

#: numpy.random attributes that are not draws from the global generator
NUMPY_NOT_DRAWS = frozenset(
    {
        "BitGenerator",
        "Generator",
        "MT19937",
        "PCG64",
        "PCG64DXSM",
        "Philox",
        "RandomState",
        "SFC64",
        "SeedSequence",
        "default_rng",
        "get_state",
        "seed",
        "set_state",
    }
)
RANDOM_DRAWS = frozenset(
    {
        "betavariate",
        "binomialvariate",
        "choice",
        "choices",
        "expovariate",
        "gammavariate",
        "gauss",
        "getrandbits",
        "lognormvariate",
        "normalvariate",
        "paretovariate",
        "randbytes",
        "randint",
        "random",
        "randrange",
        "sample",
        "shuffle",
        "triangular",
        "uniform",
        "vonmisesvariate",
        "weibullvariate",
    }
)
TORCH_DRAWS = frozenset(
    {
        "bernoulli",
        "multinomial",
        "normal",
        "poisson",
        "rand",
        "rand_like",
        "randint",
        "randint_like",
        "randn",
        "randn_like",
        "randperm",
    }
)
#: generator constructors that draw their seed from the operating system when given none
UNSEEDED_CONSTRUCTORS = frozenset({"numpy.random.default_rng", "numpy.random.RandomState", "random.Random"})

#: calls that seed a global generator: the family they seed ("*" = all of them)
SEEDING_CALLS = {
    "numpy.random.seed": "numpy",
    "random.seed": "random",
    "torch.manual_seed": "torch",
    "torch.random.manual_seed": "torch",
    "trainlock.current_run": "*",
    "trainlock.start": "*",
    "trainlock.Envelope": "*",
    "trainlock.envelope.Envelope": "*",
    "lightning.seed_everything": "*",
    "pytorch_lightning.seed_everything": "*",
    "transformers.set_seed": "*",
}

#: file-system listings in arbitrary order, by qualified name; and methods of pathlib paths
LISTINGS = frozenset({"os.listdir", "os.scandir", "glob.glob", "glob.iglob"})
PATH_LISTING_METHODS = frozenset({"glob", "rglob", "iterdir"})
#: consumers for which the order of their argument does not matter
ORDER_FREE = frozenset({"sorted", "set", "frozenset", "len", "any", "all", "min", "max"})

#: calls that turn their argument's iteration order into an ordered result
ORDERED_CONSUMERS = frozenset({"list", "tuple", "enumerate", "numpy.array", "numpy.asarray"})
#: class names that are estimators whatever library they come from
ESTIMATOR_SUFFIXES = ("Classifier", "Regressor", "Regression", "Ranker")

WALL_CLOCK = frozenset(
    {
        "time.time",
        "time.time_ns",
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.datetime.today",
        "datetime.date.today",
        "uuid.uuid1",
        "uuid.uuid4",
    }
)
#: keyword arguments that feed randomness or training
SEED_KEYWORDS = frozenset({"random_state", "seed", "random_seed"})
TRAINING_METHODS = frozenset({"fit", "partial_fit", "fit_transform", "train"})
