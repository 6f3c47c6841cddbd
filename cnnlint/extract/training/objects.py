"""What training code builds, as the training reader sees it, and what library calls mean.

Loaders, optimizers, schedulers, parsers and the like become `TrainObj`s. Calls into libraries
the reader cannot read are judged by a small table: some are *inert* (logging, timing, numpy,
torch's own functions: they cannot hold a validation pass, an early stop, a gradient reset or a
schedule), some have a known meaning (a model constructor, a wrapper that returns the model, a
gradient scaler that steps the optimizer), and the rest are *unresolved*: they could do
anything, so the rules about something missing stay silent around them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator

from cnnlint import ir
from cnnlint.catalogue import is_augmentation
from cnnlint.extract import values as v
from cnnlint.extract.frames import Args, const_equal, describe, identifiers, run_cache, walk
from cnnlint.extract.torchnn import RETURNS_SELF
from cnnlint.extract.values import UNKNOWN
from cnnlint.findings import Loc


@dataclass(eq=False)
class TrainObj(v.LibraryObject):
    """A training object the script builds: a loader, an optimizer, a parser, ..."""

    kind: str  # loader | optimizer | scheduler | sampler | transform | dataset | trainer |
    #            callback | parser | namespace | grad_context | scaler | weights
    name: str  # its class name: "DataLoader", "SGD", "Compose"
    loc: Loc | None
    fields: dict[str, Any] = field(default_factory=dict)


def weights_of_model(model: Any, loc: Loc | None) -> TrainObj:
    """`model.state_dict()`: the model's weights, which a copy keeps (`copy.deepcopy`)."""
    return TrainObj("weights", "state_dict", loc, {"model": model})


# Optimizers: positional parameter names, and torch's default learning rate.
OPTIMIZERS: dict[str, tuple[tuple[str, ...], float]] = {
    "SGD": (("params", "lr", "momentum", "dampening", "weight_decay", "nesterov"), 1e-3),
    "Adam": (("params", "lr", "betas", "eps", "weight_decay", "amsgrad"), 1e-3),
    "AdamW": (("params", "lr", "betas", "eps", "weight_decay", "amsgrad"), 1e-3),
    "NAdam": (("params", "lr", "betas", "eps", "weight_decay"), 2e-3),
    "RAdam": (("params", "lr", "betas", "eps", "weight_decay"), 1e-3),
    "Adamax": (("params", "lr", "betas", "eps", "weight_decay"), 2e-3),
    "RMSprop": (("params", "lr", "alpha", "eps", "weight_decay", "momentum", "centered"), 1e-2),
    "Adagrad": (("params", "lr", "lr_decay", "weight_decay"), 1e-2),
    "Adadelta": (("params", "lr", "rho", "eps", "weight_decay"), 1.0),
}
LOADER_PARAMS = ("dataset", "batch_size", "shuffle", "sampler", "batch_sampler")
LOSSES = frozenset({"CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss", "BCELoss"})
# Regression losses: not recorded as uses (no rule judges them), but one summed rather than
# averaged (`MSELoss(size_average=False)` over a density map) scales the gradient.
REGRESSION_LOSSES = frozenset({"MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss"})
FUNCTIONAL_LOSSES = {"cross_entropy": "CrossEntropyLoss", "nll_loss": "NLLLoss",
                     "binary_cross_entropy_with_logits": "BCEWithLogitsLoss"}
LIGHTNING = ("pytorch_lightning", "lightning")
EVAL_CONTEXTS = frozenset({"torch.no_grad", "torch.inference_mode", "torch.set_grad_enabled"})

EVAL_NAME = re.compile(r"val|valid|test|eval|dev|holdout", re.IGNORECASE)
TRAIN_NAME = re.compile(r"train", re.IGNORECASE)
# A tensor variable of held-out data: `x_test`, `test_features`, `val_x`, `X_held`.
HELD_OUT_NAME = re.compile(r"(?:^|_)(?:val|valid|validation|test|eval|dev|holdout|held)"
                            r"(?:_|$|\d)", re.IGNORECASE)
# Top-level packages whose calls have no effect on how a model trains: the reader need not
# follow them. (torch's own functions are inert too, apart from the few with a meaning below.)
INERT_ROOTS = frozenset({
    "builtins", "abc", "argparse", "ast", "collections", "contextlib", "copy", "csv",
    "datetime", "enum", "functools", "gc", "glob", "hashlib", "importlib", "inspect", "io",
    "itertools", "json", "logging", "math", "operator", "os", "pathlib", "pickle", "platform",
    "pprint", "random", "re", "shutil", "signal", "socket", "statistics", "string", "struct",
    "subprocess", "sys", "tempfile", "textwrap", "threading", "time", "timeit", "traceback",
    "types", "typing", "uuid", "warnings", "zipfile", "numpy", "scipy", "pandas", "PIL", "cv2",
    "skimage", "imageio", "matplotlib", "seaborn", "tqdm", "wandb", "mlflow", "tensorboardX",
    "tensorboard", "termcolor", "colorama", "yaml", "ruamel", "toml", "tabulate", "psutil",
    "h5py", "sklearn", "rich", "click", "fire", "easydict", "dotmap", "addict", "omegaconf",
    "hydra", "visdom", "neptune", "comet_ml", "clearml", "torchinfo", "torchsummary", "thop",
    "fvcore", "ptflops", "prettytable", "progress", "progressbar", "alive_progress",
    "tensorboard_logger", "pynvml", "GPUtil", "setproctitle", "absl", "loguru", "pytz",
    "dateutil", "IPython", "ipdb", "pdb", "torchmetrics",
    # Archives, downloads and other standard helpers (a test set unpacked with `tarfile`).
    "tarfile", "gzip", "bz2", "lzma", "zlib", "base64", "fnmatch", "heapq", "bisect",
    "urllib", "urllib3", "requests", "gdown", "wget", "errno", "getpass", "locale",
    "calendar", "decimal", "fractions", "numbers", "secrets", "unicodedata", "difflib",
    "html", "xml", "configparser", "shlex", "codecs", "dataclasses", "weakref", "atexit",
    "sqlite3",
    # Python 2's names for standard modules (`try: from StringIO import StringIO`).
    "StringIO", "cStringIO", "cPickle", "urllib2", "urlparse", "Queue", "ConfigParser",
    "httplib", "commands",
})
# torch calls that are not inert: the reader gives them their meaning.
_TORCH_MEANINGFUL = ("torch.optim", "torch.save", "torch.nn.", "torch.cuda.amp.GradScaler",
                     "torch.amp.GradScaler", "torch.compile", "torch.hub")
# Calls that hand back the model they are given (so its identity survives the wrapper).
WRAPPERS = frozenset({
    "torch.nn.DataParallel", "torch.nn.parallel.DataParallel",
    "torch.nn.parallel.DistributedDataParallel", "torch.nn.DistributedDataParallel",
    "torch.nn.parallel.distributed.DistributedDataParallel", "torch.compile",
    "torch.jit.script", "torch.nn.SyncBatchNorm.convert_sync_batchnorm",
    "apex.parallel.DistributedDataParallel", "apex.parallel.convert_syncbn_model",
    "torch.nn.utils.parametrizations.weight_norm",
})
# Calls that return a model the reader cannot see inside: a library's network.
_MODEL_CONSTRUCTORS = ("torchvision.models.", "timm.create_model", "timm.models.",
                       "segmentation_models_pytorch.", "monai.networks.nets.",
                       "efficientnet_pytorch.EfficientNet", "pretrainedmodels.",
                       "pytorchcv.model_provider.get_model", "torch.hub.load")
# Why a library network's output is not known (`interp.unknown_call`): what training code
# feeds it is followed, and its output is features, not a transformed batch.
LIBRARY_MODEL = "a library model"
# A Hugging Face network (`ViTForImageClassification.from_pretrained(...)`, `AutoModel`),
# not its tokenizer, processor or config, nor its TensorFlow or Flax twin.
_HUGGING_FACE_MODEL = re.compile(
    r"transformers\.(?:\w+\.)*(?!TF|Flax|DataCollator)\w*(?:Model|For[A-Z])\w*"
    r"(?:\.from_(?:pretrained|config))?$")
# What marks a file as written for another framework, when it never imports torch.
OTHER_FRAMEWORKS = ("mxnet", "tensorflow", "keras", "chainer", "jax", "flax", "paddle",
                    "mindspore", "oneflow", "theano", "tensorpack", "gluoncv")
# Module methods with a known effect (others, called on a model from script code, are not).
MODULE_METHODS = RETURNS_SELF | {
    "parameters", "named_parameters", "state_dict", "load_state_dict", "modules",
    "named_modules", "children", "named_children", "zero_grad", "apply", "buffers",
    "named_buffers", "register_forward_hook", "register_full_backward_hook",
}


# LightningModule methods Lightning calls: the training script, written inside the module.
LIGHTNING_HOOKS = frozenset({
    "training_step", "validation_step", "test_step", "predict_step", "configure_optimizers",
    "train_dataloader", "val_dataloader", "test_dataloader", "predict_dataloader",
    "training_epoch_end", "validation_epoch_end", "test_epoch_end", "backward",
    "optimizer_step", "optimizer_zero_grad", "lr_scheduler_step", "configure_callbacks",
})
# LightningModule methods that only log or read state.
LIGHTNING_METHODS = frozenset({"log", "log_dict", "print", "save_hyperparameters",
                               "optimizers", "lr_schedulers", "all_gather", "to_torchscript"})


# Methods that, whatever they are called on, only compute, log or fill containers: the methods
# of Python's own types, of tensors and files, of loggers and meters. A call of any other
# method on something the reader cannot see might validate, stop, or step.
PLAIN_METHODS = frozenset({
    "append", "extend", "insert", "pop", "remove", "clear", "copy", "count", "index", "sort",
    "reverse", "add", "discard", "update", "get", "items", "keys", "values", "setdefault",
    "split", "rsplit", "join", "strip", "lstrip", "rstrip", "startswith", "endswith", "lower",
    "upper", "replace", "format", "find", "encode", "decode", "isdigit", "title",
    "zfill", "ljust", "rjust", "center", "capitalize", "partition", "rpartition", "splitlines",
    "item", "tolist", "numpy", "cpu", "cuda", "to", "detach", "clone", "size", "dim", "view",
    "reshape", "mean", "sum", "max", "min", "argmax", "float", "long", "int", "eq", "ne",
    "squeeze", "unsqueeze", "permute", "contiguous", "numel", "type_as", "fill_", "zero_",
    "write", "writelines", "flush", "close", "read", "readline", "readlines", "seek",
    "info", "debug", "warning", "warn", "error", "exception", "critical", "log", "print",
    "add_scalar", "add_scalars", "add_image", "add_histogram", "add_text", "add_figure",
    "set_description", "set_postfix", "set_postfix_str", "refresh", "reset", "display",
    "summary", "avg", "synchronize", "record", "elapsed_time", "tic", "toc", "next",
    "finish", "set_epoch", "state_dict", "load_state_dict",
    # Tensor arithmetic of a metric (`output.topk(k)`, `pred.t().eq(...)`).
    "topk", "t", "expand", "expand_as", "transpose", "flatten", "mul", "mul_", "div", "div_",
    "sub", "sub_", "abs", "pow", "sqrt", "exp", "softmax", "log_softmax", "sigmoid", "argmin",
    "all", "any", "bool", "double", "half", "round", "clamp", "norm", "std", "var", "gather",
    "masked_fill", "nonzero", "chunk", "index_select", "repeat", "astype", "sign",
    # (and in place: a loss's `logvar.mul(0.5).exp_()`)
    "exp_", "add_", "pow_", "sqrt_", "abs_", "neg", "neg_", "log_", "clamp_",
    "sigmoid_", "tanh_", "masked_fill_", "copy_",
    "total_seconds", "strftime", "isoformat",  # clocks
})


def root_of(qualname: str) -> str:
    return qualname.split(".", 1)[0]


# Calls of otherwise inert libraries that build whatever a configuration names (a project
# model, a scheduler, an early-stopping callback): what they return may do anything.
_BUILDS_FROM_CONFIG = frozenset({
    "hydra.utils.instantiate", "hydra.utils.call", "hydra.utils.get_class",
    "hydra.utils.get_method", "hydra.utils.get_object", "hydra.utils.get_static_method",
})


# Calls that run other code than the script's (a command, another script, a thread's
# target): an evaluation script run on each epoch's checkpoint, for one.
_RUNS_OTHER_CODE = ("subprocess.", "os.system", "os.popen", "os.spawn", "os.exec",
                    "threading.Thread")


# Lightning's packages, and what in them only seeds, logs or shows progress (its loggers, and
# callbacks that watch): a Trainer given them trains, validates and stops as without.
_LIGHTNING_ROOTS = ("pytorch_lightning.", "lightning.pytorch.", "lightning.fabric.",
                    "lightning_fabric.", "lightning.")
_LIGHTNING_INERT = ("seed_everything", "utilities.seed.", "loggers.",
                    "Trainer.add_argparse_args", "utilities.argparse.",
                    "callbacks.LearningRateMonitor", "callbacks.lr_monitor.",
                    "callbacks.TQDMProgressBar", "callbacks.RichProgressBar",
                    "callbacks.progress.", "callbacks.ModelSummary",
                    "callbacks.RichModelSummary", "callbacks.DeviceStatsMonitor",
                    "callbacks.Timer",
                    # How and where it runs (data parallel, precision, profiling): the
                    # same loop, validation and stopping.
                    "plugins.", "strategies.", "accelerators.", "profiler.", "profilers.")


def lightning_inert(qualname: str) -> bool:
    root = next((r for r in _LIGHTNING_ROOTS if qualname.startswith(r)), None)
    return root is not None and qualname[len(root):].startswith(_LIGHTNING_INERT)


# TensorFlow's summary writers and protos, which PyTorch projects use for TensorBoard logs
# (a widely copied `Logger` class writes `tf.Summary` values with a `FileWriter`).
_TF_LOGGING = tuple(f"tensorflow.{api}" for api in (
    "summary.", "Summary", "HistogramProto", "compat.v1.summary.", "compat.v1.Summary",
    "compat.v1.HistogramProto", "io.gfile."))


def inert_part(qualname: str) -> bool:
    """An inert part of a package that is not inert as a whole (Lightning's loggers,
    TensorFlow's summaries): what it returns is inert, its package's other values may not be."""
    return lightning_inert(qualname) or qualname.startswith(_TF_LOGGING)


def inert(qualname: str) -> bool:
    """A library call that cannot train, validate, stop, reset gradients or change the lr."""
    if qualname in _BUILDS_FROM_CONFIG or qualname.startswith(_RUNS_OTHER_CODE):
        return False
    if inert_part(qualname):
        return True
    if qualname.startswith("torch."):
        return not qualname.startswith(_TORCH_MEANINGFUL) or qualname.startswith(
            ("torch.nn.utils.clip_grad", "torch.nn.functional"))
    if qualname.startswith(("torchvision.utils.", "torchvision.io.")):
        return True  # saving image grids, reading files
    return root_of(qualname) in INERT_ROOTS


def model_constructor(qualname: str) -> bool:
    return qualname.startswith(_MODEL_CONSTRUCTORS) or bool(_HUGGING_FACE_MODEL.match(qualname))


def role(loader: TrainObj) -> str:
    """"train", "eval" or "unknown", from the names of the loader and its dataset."""
    names = [str(loader.fields.get("var", ""))]
    dataset = loader.fields.get("dataset")
    if isinstance(dataset, TrainObj):
        names.append(str(dataset.fields.get("var", "")))
        names.append(str(dataset.fields.get("split", "")))
    elif isinstance(dataset, v.Instance):
        names.append(dataset.cls.name)
    text = " ".join(names)
    if EVAL_NAME.search(text):
        return "eval"
    if TRAIN_NAME.search(text):
        return "train"
    return "unknown"


# What a loader's field holds when the two sides of an `if` set it differently, or one
# does not set it (its shuffle flag, sampler, names, role): not known, in the form the
# run's loaders keep it and the reader's own code tests (text and truth values).
_EITHER_FIELD: dict[str, Any] = {"shuffle": None, "sampler": "unknown", "symbol": "",
                                 "var": "", "shown": "", "role": "unknown",
                                 "drawn_once": None}


def _spread_of(*settings: Any) -> tuple[float, float] | None:
    """(lowest, highest) of settings whose values (or spreads) are all known numbers."""
    numbers: list[float] = []
    for setting in settings:
        if not isinstance(setting, ir.Setting):
            return None
        if setting.known:
            numbers.append(setting.value)  # type: ignore[arg-type]
        elif setting.spread is not None:
            numbers.extend(setting.spread)
        else:
            return None
    return (min(numbers), max(numbers))


def either_loader(a: TrainObj, b: TrainObj, merge: Callable[[Any, Any], Any],
                  loaders: list[TrainObj]) -> TrainObj:
    """`if big: loader = DataLoader(d, 256) else: loader = DataLoader(d, 64)`: one loader,
    with what both agree on (its name, so its role); what they do not agree on is not known
    (datasets are merged with `merge`). It stands for both in the run's `loaders`."""
    # The loaders it stands for: a loop that iterated one of them before trained on it.
    fields: dict[str, Any] = {"parts": (
        *a.fields.get("parts", (a,)), *b.fields.get("parts", (b,)))}
    for key in dict.fromkeys([*a.fields, *b.fields]):
        x, y = a.fields.get(key, UNKNOWN), b.fields.get(key, UNKNOWN)
        if key == "parts":
            continue
        if key == "dataset":
            fields[key] = x if x is y else merge(x, y)
        elif key == "batch_size":
            same = isinstance(x, ir.Setting) and isinstance(y, ir.Setting) \
                and x.known and y.known and x.value == y.value
            fields[key] = x if same or x is y else ir.Setting(
                None, "one of two values", spread=_spread_of(x, y))
        else:
            fields[key] = x if x is y or (v.is_const(x) and const_equal(x, y)) else \
                _EITHER_FIELD.get(key, UNKNOWN)
    either = TrainObj("loader", a.name if a.name == b.name else f"{a.name} or {b.name}",
                      a.loc, fields)
    if any(x is a for x in loaders) and any(x is b for x in loaders):
        loaders[:] = [x for x in loaders if x is not a and x is not b] + [either]
    return either


def transforms_of(loader: TrainObj) -> tuple[list[str] | None, Loc | None, bool]:
    """(transform class names when all known, where the pipeline is built, image data?)."""
    transform, image = _transform_given(loader)
    return (None, None, False) if transform is None else _pipeline(transform, image)


def pipeline_object(loader: TrainObj) -> Any:
    """The pipeline object a loader's images go through (see `transforms_of`), or None."""
    transform, _ = _transform_given(loader)
    return transform if isinstance(transform, TrainObj) and transform.kind == "transform" \
        else None


def _transform_given(loader: TrainObj) -> tuple[Any, bool]:
    """The transform a loader's dataset was given (UNKNOWN when not known; None when the
    dataset's own code may change the images, or draws new ones), and whether its data are
    images."""
    dataset = loader.fields.get("dataset")
    transform: Any = UNKNOWN
    image = False
    if isinstance(dataset, TrainObj) and dataset.name == "FakeData":
        return None, False  # new random images each time: nothing to learn by heart
    if isinstance(dataset, TrainObj) and dataset.kind == "dataset":
        # (A part of a split dataset: the whole's pipeline.)
        source = dataset.fields.get("whole", dataset)
        transform, image = source.fields.get("transform", UNKNOWN), True
    elif isinstance(dataset, v.Instance):
        if _may_augment(dataset.cls) or _wraps_augmented(loader, dataset):
            return None, False  # the dataset's own code may change the images
        transform = dataset.attrs.get("__transform__", UNKNOWN)
    return transform, image


Pipeline = tuple[list[str] | None, Loc | None, bool]


def _pipeline(transform: Any, image: bool) -> Pipeline:
    if isinstance(transform, TrainObj) and transform.kind == "transform":
        items = transform.fields.get("items")
        image = image or bool(items and any(
            i in ("ToTensor", "Resize", "CenterCrop", "Normalize", "PILToTensor", "ToImage")
            for i in items))
        return items, transform.loc, image
    return None, None, image


def pipelines_of(loader: TrainObj) -> list[Pipeline]:
    """The pipelines of a dataset that has several: one of several library datasets (picked
    by a setting), or a project dataset class that keeps its transforms in attributes
    (`self.lr_transform`, `self.hr_transform`) and applies them itself. None otherwise."""
    dataset = loader.fields.get("dataset")
    if isinstance(dataset, TrainObj):
        return [transforms_of(replace(loader, fields={**loader.fields, "dataset": option}))
                for option in dataset.fields.get("options") or ()]
    if isinstance(dataset, v.Instance) and "__transform__" not in dataset.attrs \
            and not _may_augment(dataset.cls) and not _wraps_augmented(loader, dataset):
        # A class that keeps a training and a test pipeline picks one by its split: the
        # test one is not judged.
        kept = {name: value for name, value in dataset.attrs.items()
                if isinstance(value, TrainObj) and value.kind == "transform"
                and not EVAL_NAME.search(name)}
        if any(TRANSFORM_NAME.search(name) and value is not None and name not in kept
               and not EVAL_NAME.search(name) for name, value in dataset.attrs.items()):
            # A pipeline the reader does not know (a project's joint flip of image and
            # mask): it may be the one that augments the images.
            return [(None, None, False)]
        training = {name: value for name, value in kept.items() if TRAIN_NAME.search(name)}
        judged = training or kept
        # (What the labels go through, a mask's or a density map's, is not the images'.)
        inputs = {name: value for name, value in judged.items() if not TARGET_NAME.search(name)}
        pipelines = [_pipeline(value, False) for value in (inputs or judged).values()]
        # Which pipeline the images go through is not known (an image's colour jitter
        # beside a mask's crop): one that augments may be theirs.
        augmenting = [p for p in pipelines
                      if p[0] is not None and any(is_augmentation(name) for name in p[0])]
        if not augmenting and any(p[0] is None for p in pipelines):
            # One made of the project's own transforms (a paired flip of an image and its
            # density map): it may be the one that augments the images.
            return [(None, None, False)]
        return augmenting or pipelines
    return []


# What names a pipeline or dataset field for the targets, not the inputs (`target_transform`,
# `self.mask_transform`, a crowd counter's `dmap_transform`).
TARGET_NAME = re.compile(r"label|target|mask|(?:^|_)gt(?:$|_)|anno|dmap|density", re.IGNORECASE)
# The attributes of a dataset that hold a pipeline (`self.mask_transform`, `self.aug`).
TRANSFORM_NAME = re.compile(r"transform|augment|(?:^|_)aug(?:$|_)", re.IGNORECASE)


def _wraps_augmented(loader: TrainObj, dataset: v.Instance) -> bool:
    """A project dataset holding another (`MixWrap(CIFAR10(..., transform=jitter), to_tensor)`)
    whose own pipeline is not known or augments: the images it hands over may be augmented
    already, whatever the wrapper's pipeline does after."""
    for value in dataset.attrs.values():
        inner = isinstance(value, TrainObj) and value.kind == "dataset" or (
            type(value) is v.Instance and value is not dataset
            and value.cls.lookup("__getitem__") is not None)
        if isinstance(value, TrainObj) and "transform" in value.fields \
                and value.fields["transform"] is None:
            continue  # an `ImageFolder(root)` with no transform hands its images as read
        if inner:
            items, _, _ = transforms_of(replace(loader, fields={**loader.fields,
                                                                 "dataset": value}))
            if items is None or any(is_augmentation(name) for name in items):
                return True
    return False


_RANDOM_WORDS = re.compile(r"random|rand(int|n|perm)?$|flip|crop|rotat|jitter|augment|albument",
                           re.IGNORECASE)
# Names with such a word that draw nothing: torchvision's fixed crops, and a crop's size.
_FIXED_WORDS = re.compile(r"^(CenterCrop|FiveCrop|TenCrop|center_crop|five_crop|ten_crop)$"
                          r"|crop_?(size|height|width|shape|h|w)$", re.IGNORECASE)


def _may_augment(cls: v.ClassVal, depth: int = 0) -> bool:
    """A project dataset class whose code draws random numbers or flips, crops, rotates:
    it augments by itself (a `CenterCrop` or a `crop_size` is no sign of it). A base class
    from a library may too."""
    if depth > 8:
        return True
    for base in cls.bases:
        if isinstance(base, v.ClassVal):
            if _may_augment(base, depth + 1):
                return True
        elif isinstance(base, v.Ref) and not base.qualname.startswith(("torch.utils.data",
                                                                        "builtins.object")):
            return True
    for member in cls.namespace.values():
        if isinstance(member, v.FuncVal):
            stack: list[Any] = [member.node[3]]
            while stack:
                e = stack.pop()
                if type(e) is not tuple or not e or _picks_an_example(e):
                    continue
                if e[0] in ("name", "attr") and type(e[-1]) is str \
                        and _RANDOM_WORDS.search(e[-1]) and not _FIXED_WORDS.search(e[-1]):
                    return True
                if e[0] not in ("import", "from"):
                    stack.extend(e)
    return False


# Draws that pick examples or order them (a siamese pair's partner, `random.choice(
# self.images)`), not the parameters of a change to an image.
_PICKS = frozenset({"choice", "choices", "sample", "shuffle", "permutation"})
_RANDOM_MODULES = frozenset({("name", "random"), ("attr", ("name", "np"), "random"),
                             ("attr", ("name", "numpy"), "random")})


def _picks_an_example(e: tuple[Any, ...]) -> bool:
    """`random.choice`, `np.random.permutation` and the like (the function, not its call:
    its arguments are still looked at)."""
    return e[0] == "attr" and e[2] in _PICKS and e[1] in _RANDOM_MODULES


_METRIC_WORDS = ("best", "val", "valid", "validation", "acc", "accuracy", "loss", "metric",
                 "score", "dice", "auc", "f1", "prec", "top1", "top5", "err", "error", "miou",
                 "iou", "iu", "map", "psnr", "ssim", "correct", "mae", "mse", "rmse")


def metric_words(expr: tuple[Any, ...]) -> bool:
    """True when a test names a metric or a best value: `val_loss < best`, `is_best`,
    `mean_iu > record["best_iu"]` (a key of a record counts as a name)."""
    for name in [*identifiers(expr, attributes=True), *_keys(expr)]:
        for word in re.split(r"_|(?<=[a-z])(?=[A-Z])", name):
            word = word.lower()
            if word.startswith("best") or word.rstrip("0123456789") in _METRIC_WORDS:
                return True
    return False


# What a training script hands a library function as data: nothing in it trains.
_DATA_OBJECTS = frozenset({"loader", "dataset", "transform", "sampler"})


def handed_data_only(args: Args) -> bool:
    """Whether a call is handed data, and nothing but data or constants: tensors, loaders,
    datasets, transforms and samplers, numbers and strings, and lists or dicts of them
    (nothing unknown). A call given constants alone (`make_parts()`, `build(depth=18)`)
    may build and hand back a network: it is not one."""
    if args.open_pos or args.open_kw:
        return False
    stack, data = [*args.pos, *args.kw.values()], False
    while stack:
        x = stack.pop()
        if x is None or type(x) in (int, float, str, bool):
            continue
        if type(x) in (list, tuple):
            stack.extend(x)
        elif type(x) is dict:
            stack.extend(x.values())
        elif type(x) is v.Tensor or isinstance(x, TrainObj) and x.kind in _DATA_OBJECTS:
            data = True
        else:
            return False
    return data


def keeps_a_running_best(test: tuple[Any, ...], body: tuple[Any, ...]) -> bool:
    """`if v < lowest:` whose branch then sets `lowest = v` (`lowest, keep = v, ...`): a
    value tested against the best so far and kept as the new best, whatever the names."""
    if test[0] != "compare" or len(test[2]) != 1 or test[2][0][0] not in ("<", ">", "<=", ">="):
        return False
    sides = {_code(test[1]), _code(test[2][0][1])}
    return any(kept != new and {_code(kept), _code(new)} == sides
               for kept, new in assigned_pairs(body))


def assigned_pairs(body: tuple[Any, ...]) -> Iterator[tuple[Any, Any]]:
    """(target, value) of each assignment a block makes itself, a tuple assigned from a tuple
    of the same length taken apart (`best, best_epoch = acc, epoch`)."""
    for stmt in body:
        if stmt[0] != "assign":
            continue
        value = stmt[2]
        for target in stmt[1]:
            if target[0] == value[0] == "tuple" and len(target[1]) == len(value[1]):
                yield from zip(target[1], value[1])
            else:
                yield target, value


def _code(expr: Any) -> Any:
    """Lowered code without the slots of its calls and operations: the same text written
    twice (`np.mean(accs) * 100` tested, then kept) compares equal."""
    if type(expr) is not tuple or not expr:
        return expr
    if expr[0] in ("call", "binop"):
        expr = expr[:-1]
    return tuple(_code(part) for part in expr)


def _keys(expr: Any) -> list[str]:
    """The string keys an expression subscripts with: `record["best_iu"]`."""
    found: list[str] = []
    stack = [expr]
    while stack:
        item = stack.pop()
        if type(item) is not tuple or not item:
            continue
        if item[0] == "sub" and len(item) > 2 and type(item[2]) is tuple \
                and item[2][:1] == ("const",) and type(item[2][1]) is str:
            found.append(item[2][1])
        stack.extend(x for x in item if type(x) is tuple)
    return found


# --- lowered-code helpers --------------------------------------------------------------------


def text(expr: tuple[Any, ...]) -> str:
    """Source-like text of an expression, with constant subscripts: `cfg["lr"]`."""
    if expr[0] == "sub":
        key = expr[2]
        inner = repr(key[1]) if key[0] == "const" else "..."
        return f"{text(expr[1])}[{inner}]"
    return describe(expr)


def plain_path(expr: tuple[Any, ...]) -> bool:
    """A name, attribute chain or constant subscript: safe to evaluate twice."""
    if expr[0] == "name":
        return True
    if expr[0] == "attr":
        return plain_path(expr[1])
    if expr[0] == "sub":
        return expr[2][0] == "const" and plain_path(expr[1])
    return False


_MODULO: dict[int, tuple[tuple[Any, ...], bool]] = run_cache()


def has_modulo(expr: tuple[Any, ...]) -> bool:
    found = _MODULO.get(id(expr))
    if found is None or found[0] is not expr:
        found = _MODULO[id(expr)] = (expr, any(e and e[0] == "binop" and e[1] == "%"
                                               for e in walk(expr)))
    return found[1]


def breaks(body: tuple[Any, ...], nested: bool = False) -> bool:
    """A way out of this loop in its body: a `break` that belongs to it (`nested`: inside a
    loop nested in it, where a `break` leaves only that one), or, from anywhere in it, a
    `return` or an exit of the program (`sys.exit()`), which leave every loop."""
    for stmt in body:
        tag = stmt[0]
        if (tag == "break" and not nested) or tag == "return" or _exits(stmt):
            return True
        if tag == "if" and not _tests_divergence(stmt[1]) \
                and (breaks(stmt[2], nested) or breaks(stmt[3], nested)):
            return True
        if tag == "with" and breaks(stmt[2], nested):
            return True
        if tag == "try" and (breaks(stmt[1], nested) or any(breaks(h, nested)
                                                             for h in stmt[2])):
            return True
        if tag in ("for", "while") and breaks(stmt[3] if tag == "for" else stmt[2], True):
            return True
    return False


_EXITS = frozenset({"sys.exit", "exit", "quit", "os._exit"})
_NOT_FINITE = frozenset({"isnan", "isinf", "isfinite", "isneginf", "isposinf"})


def _tests_divergence(test: tuple[Any, ...]) -> bool:
    """`if torch.isnan(loss).any():`, `if not math.isfinite(loss)`, `if loss != loss`: a
    guard against a diverged loss, whose way out is no early stop on a validation metric."""
    for e in walk(test):
        if not e:
            continue
        if (e[0] == "attr" and e[2] in _NOT_FINITE) or (e[0] == "name" and e[1] in _NOT_FINITE):
            return True
        if e[0] == "compare" and len(e[2]) == 1 and e[2][0][0] == "!=" and e[1] == e[2][0][1]:
            return True
    return False


def _exits(stmt: tuple[Any, ...]) -> bool:
    """`sys.exit(0)`, `exit()`: the program ends, and every loop with it."""
    return stmt[0] == "expr" and type(stmt[1]) is tuple and stmt[1][0] == "call" \
        and describe(stmt[1][1]) in _EXITS


def trains(body: tuple[Any, ...]) -> bool:
    """A function body that steps something or calls backward: worth a pass of its own."""
    return any(e and e[0] == "attr" and len(e) > 2 and e[2] in ("backward", "step")
               for e in walk(body))


def imported_roots(body: tuple[Any, ...]) -> set[str]:
    """The top-level packages a file imports (anywhere in it)."""
    roots: set[str] = set()
    stack: list[Any] = [body]
    while stack:
        item = stack.pop()
        if type(item) is not tuple or not item:
            continue
        if item[0] == "import" and len(item) == 2:
            roots.update(dotted.split(".")[0] for dotted, _ in item[1])
        elif item[0] == "from" and len(item) == 4 and type(item[1]) is str and not item[2]:
            roots.add(item[1].split(".")[0])
        else:
            stack.extend(x for x in item if type(x) is tuple)
    return roots


def takes_no_input(model: Any) -> bool:
    """A module whose forward reads no input (`def forward(self): return self.weight`): its
    parameters are what is optimised (an image for style transfer), not a model of data."""
    if not isinstance(model, v.Instance):
        return False
    forward = model.cls.lookup("forward")
    return isinstance(forward, v.FuncVal) and not forward.node[2][1:]
