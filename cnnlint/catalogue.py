"""What cnnlint knows about torch's building blocks, as plain data.

Every front end (the static reader and the torch.fx tracer) names layers by their torch class
name (``Conv2d``, ``BatchNorm2d``); functional calls and tensor methods map onto the same names
(``F.relu`` is a ``ReLU`` applied functionally). Rules ask about *families*, never about
spellings, so ``F.leaky_relu`` and ``nn.LeakyReLU`` look the same to them.
"""

from __future__ import annotations

import re
from typing import Iterable

# family -> torch.nn class names. A family groups layers a rule treats alike.
_FAMILIES: dict[str, tuple[str, ...]] = {
    "conv": (
        "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
        "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d",
        "LazyConvTranspose3d", "DeformConv2d",
    ),
    "linear": ("Linear", "LazyLinear", "Bilinear"),
    "batchnorm": (
        "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "LazyBatchNorm1d",
        "LazyBatchNorm2d", "LazyBatchNorm3d",
    ),
    "instancenorm": (
        "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LazyInstanceNorm1d",
        "LazyInstanceNorm2d", "LazyInstanceNorm3d",
    ),
    "groupnorm": ("GroupNorm",),
    "layernorm": ("LayerNorm", "RMSNorm", "LocalResponseNorm"),
    # ReLU and its clipped twin have zero slope for negative input: units can die.
    "relu": ("ReLU", "ReLU6"),
    # Non-zero slope (or smooth) for negative input: the dying-ReLU fixes.
    "leaky": (
        "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish",
        "Hardswish", "Softplus",
    ),
    # Saturate at both ends: gradients vanish through deep stacks of them.
    "saturating": ("Sigmoid", "Tanh", "Hardsigmoid", "Hardtanh", "Softsign", "LogSigmoid"),
    "softmax": ("Softmax", "LogSoftmax", "Softmax2d", "Softmin"),
    "dropout": (
        "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout",
    ),
    "pool": (
        "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
        "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
        "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "LPPool1d", "LPPool2d", "FractionalMaxPool2d",
    ),
    "reshape": ("Flatten", "Unflatten", "PixelShuffle", "PixelUnshuffle", "ChannelShuffle"),
    "identity": ("Identity",),
    "upsample": ("Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "MaxUnpool1d",
                 "MaxUnpool2d", "MaxUnpool3d", "GridSample"),
    "padding": (
        "ZeroPad2d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ReflectionPad1d",
        "ReflectionPad2d", "ReplicationPad2d", "ReplicationPad3d",
    ),
    "embedding": ("Embedding", "EmbeddingBag"),
    # A distance or similarity of two inputs, with no weights (a triplet loss's distances).
    "distance": ("PairwiseDistance", "CosineSimilarity"),
    "recurrent": ("LSTM", "GRU", "RNN", "LSTMCell", "GRUCell", "RNNCell"),
    "attention": ("MultiheadAttention", "Transformer", "TransformerEncoder",
                  "TransformerEncoderLayer", "TransformerDecoder", "TransformerDecoderLayer"),
    "loss": (
        "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "MSELoss", "L1Loss",
        "SmoothL1Loss", "HuberLoss", "KLDivLoss", "MultiLabelSoftMarginLoss", "CTCLoss",
        "MultiMarginLoss", "SoftMarginLoss", "CosineEmbeddingLoss", "TripletMarginLoss",
    ),
}

FAMILY_OF: dict[str, str] = {kind: fam for fam, kinds in _FAMILIES.items() for kind in kinds}
# Deprecated names torch still accepts, read as the class they became.
KIND_ALIASES = {"NLLLoss2d": "NLLLoss"}

WEIGHTED_FAMILIES = frozenset({"conv", "linear"})
NORM_FAMILIES = frozenset({"batchnorm", "instancenorm", "groupnorm", "layernorm"})
ACTIVATION_FAMILIES = frozenset({"relu", "leaky", "saturating"})

# Containers are not layers: the reader expands them.
CONTAINERS = frozenset({"Sequential", "ModuleList", "ModuleDict"})

# Positional parameter names of constructors, so that `nn.Conv2d(3, 64, 3, 1, 1, bias=False)`
# and its keyword spelling produce the same arguments.
_CONV = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
         "bias", "padding_mode")
_CONVT = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding",
          "groups", "bias", "dilation", "padding_mode")
_NORM = ("num_features", "eps", "momentum", "affine", "track_running_stats")
_POOL = ("kernel_size", "stride", "padding")
SIGNATURES: dict[str, tuple[str, ...]] = {
    **{k: _CONV for k in ("Conv1d", "Conv2d", "Conv3d")},
    **{k: _CONV[1:] for k in ("LazyConv1d", "LazyConv2d", "LazyConv3d")},
    **{k: _CONVT for k in ("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d")},
    "DeformConv2d": _CONV[:-1],
    "Linear": ("in_features", "out_features", "bias"),
    "LazyLinear": ("out_features", "bias"),
    "Bilinear": ("in1_features", "in2_features", "out_features", "bias"),
    **{k: _NORM for k in _FAMILIES["batchnorm"] + _FAMILIES["instancenorm"]},
    "GroupNorm": ("num_groups", "num_channels", "eps", "affine"),
    "LayerNorm": ("normalized_shape", "eps", "elementwise_affine", "bias"),
    **{k: ("p", "inplace") for k in _FAMILIES["dropout"]},
    "ReLU": ("inplace",),
    "ReLU6": ("inplace",),
    "LeakyReLU": ("negative_slope", "inplace"),
    "ELU": ("alpha", "inplace"),
    "CELU": ("alpha", "inplace"),
    "PReLU": ("num_parameters", "init"),
    "GELU": ("approximate",),
    "Softmax": ("dim",),
    "LogSoftmax": ("dim",),
    **{k: _POOL for k in ("MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d",
                          "AvgPool3d")},
    **{k: ("output_size",) for k in ("AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
                                     "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
                                     "AdaptiveMaxPool2d", "AdaptiveMaxPool3d")},
    "Flatten": ("start_dim", "end_dim"),
    "Upsample": ("size", "scale_factor", "mode", "align_corners"),
    **{k: ("kernel_size", "stride", "padding") for k in ("MaxUnpool1d", "MaxUnpool2d",
                                                         "MaxUnpool3d")},
    "CrossEntropyLoss": ("weight", "size_average", "ignore_index", "reduce", "reduction",
                         "label_smoothing"),
    "NLLLoss": ("weight", "size_average", "ignore_index", "reduce", "reduction"),
    "BCEWithLogitsLoss": ("weight", "size_average", "reduce", "reduction", "pos_weight"),
    "BCELoss": ("weight", "size_average", "reduce", "reduction"),
    **{k: ("size_average", "reduce", "reduction") for k in ("MSELoss", "L1Loss",
                                                            "SmoothL1Loss", "KLDivLoss")},
}

# Defaults that rules depend on, so that a missing argument means the torch default.
DEFAULTS: dict[str, dict[str, object]] = {
    **{k: {"bias": True, "groups": 1, "stride": 1} for k in _FAMILIES["conv"]},
    "Linear": {"bias": True},
    **{k: {"p": 0.5} for k in _FAMILIES["dropout"]},
    **{k: {"affine": True} for k in _FAMILIES["batchnorm"]},
    **{k: {"affine": False} for k in _FAMILIES["instancenorm"]},
}

# Functional spellings: the qualified function name -> the layer kind it applies.
FUNCTIONAL: dict[str, str] = {
    "torch.nn.functional.relu": "ReLU",
    "torch.nn.functional.relu_": "ReLU",
    "torch.relu": "ReLU",
    "torch.relu_": "ReLU",
    "torch.nn.functional.leaky_relu": "LeakyReLU",
    "torch.nn.functional.leaky_relu_": "LeakyReLU",
    "torch.nn.functional.elu": "ELU",
    "torch.nn.functional.selu": "SELU",
    "torch.selu": "SELU",
    "torch.nn.functional.celu": "CELU",
    "torch.nn.functional.gelu": "GELU",
    "torch.nn.functional.silu": "SiLU",
    "torch.nn.functional.mish": "Mish",
    "torch.nn.functional.hardswish": "Hardswish",
    "torch.nn.functional.prelu": "PReLU",
    "torch.nn.functional.softplus": "Softplus",
    "torch.sigmoid": "Sigmoid",
    "torch.nn.functional.sigmoid": "Sigmoid",
    "torch.tanh": "Tanh",
    "torch.nn.functional.tanh": "Tanh",
    "torch.nn.functional.hardsigmoid": "Hardsigmoid",
    "torch.nn.functional.hardtanh": "Hardtanh",
    "torch.nn.functional.softmax": "Softmax",
    "torch.softmax": "Softmax",
    "torch.nn.functional.log_softmax": "LogSoftmax",
    "torch.log_softmax": "LogSoftmax",
    "torch.nn.functional.dropout": "Dropout",
    "torch.nn.functional.dropout1d": "Dropout1d",
    "torch.nn.functional.dropout2d": "Dropout2d",
    "torch.nn.functional.dropout3d": "Dropout3d",
    "torch.nn.functional.alpha_dropout": "AlphaDropout",
    "torch.dropout": "Dropout",
    "torch.nn.functional.max_pool1d": "MaxPool1d",
    "torch.nn.functional.max_pool2d": "MaxPool2d",
    "torch.nn.functional.max_pool3d": "MaxPool3d",
    "torch.nn.functional.avg_pool1d": "AvgPool1d",
    "torch.nn.functional.avg_pool2d": "AvgPool2d",
    "torch.nn.functional.avg_pool3d": "AvgPool3d",
    "torch.nn.functional.adaptive_avg_pool1d": "AdaptiveAvgPool1d",
    "torch.nn.functional.adaptive_avg_pool2d": "AdaptiveAvgPool2d",
    "torch.nn.functional.adaptive_avg_pool3d": "AdaptiveAvgPool3d",
    "torch.nn.functional.adaptive_max_pool2d": "AdaptiveMaxPool2d",
    "torch.max_pool2d": "MaxPool2d",
    "torch.nn.functional.batch_norm": "BatchNorm",
    "torch.batch_norm": "BatchNorm",
    "torch.nn.functional.layer_norm": "LayerNorm",
    "torch.nn.functional.group_norm": "GroupNorm",
    "torch.nn.functional.instance_norm": "InstanceNorm",
    "torch.conv1d": "Conv1d",  # F.conv2d is torch.conv2d: what a trace sees
    "torch.conv2d": "Conv2d",
    "torch.conv3d": "Conv3d",
    "torch.conv_transpose1d": "ConvTranspose1d",
    "torch.conv_transpose2d": "ConvTranspose2d",
    "torch.conv_transpose3d": "ConvTranspose3d",
    "torch.nn.functional.conv_transpose1d": "ConvTranspose1d",
    "torch.nn.functional.conv_transpose2d": "ConvTranspose2d",
    "torch.nn.functional.conv_transpose3d": "ConvTranspose3d",
    "torch.layer_norm": "LayerNorm",
    "torch.group_norm": "GroupNorm",
    "torch.instance_norm": "InstanceNorm",
    "torch.hardtanh": "Hardtanh",
    "torch.nn.functional.relu6": "ReLU6",
    "torch.nn.functional.hardtanh_": "Hardtanh",
    "torch.nn.functional.elu_": "ELU",
    "torch.nn.functional.conv1d": "Conv1d",
    "torch.nn.functional.conv2d": "Conv2d",
    "torch.nn.functional.conv3d": "Conv3d",
    "torch.nn.functional.linear": "Linear",
    "torch.flatten": "Flatten",
    # Losses, as a loss module's own forward computes them (a focal loss over F.cross_entropy).
    "torch.nn.functional.cross_entropy": "CrossEntropyLoss",
    "torch.nn.functional.nll_loss": "NLLLoss",
    "torch.nn.functional.binary_cross_entropy": "BCELoss",
    "torch.nn.functional.binary_cross_entropy_with_logits": "BCEWithLogitsLoss",
    "torch.nn.functional.mse_loss": "MSELoss",
    "torch.nn.functional.l1_loss": "L1Loss",
    "torch.nn.functional.smooth_l1_loss": "SmoothL1Loss",
    "torch.nn.functional.huber_loss": "HuberLoss",
    "torch.nn.functional.kl_div": "KLDivLoss",
    "torch.nn.functional.interpolate": "Upsample",
    "torch.nn.functional.upsample": "Upsample",
    "torch.nn.functional.upsample_bilinear": "Upsample",
    "torch.nn.functional.upsample_nearest": "Upsample",
    "torch.nn.functional.pixel_shuffle": "PixelShuffle",
    # torchvision's image functions on a feature map (a U-Net resizing its decoder's map to
    # the skip's size before concatenating them): a resampling, as `F.interpolate`.
    "torchvision.transforms.functional.resize": "Upsample",
    "torchvision.ops.deform_conv2d": "DeformConv2d",
    "torchvision.ops.deform_conv.deform_conv2d": "DeformConv2d",
    # Resampling the features at the points of a grid (deformable attention, warping by a
    # flow): what the grid holds steers where it samples.
    "torch.nn.functional.grid_sample": "GridSample",
    # SegNet's decoder: pooling indices put values back in place (the indices carry no data).
    **{f"torch.nn.functional.max_unpool{d}d": f"MaxUnpool{d}d" for d in (1, 2, 3)},
}
FAMILY_OF.update({"BatchNorm": "batchnorm", "InstanceNorm": "instancenorm",
                  "permute": "reshape",
                  # Features times random numbers drawn in the forward: a dropout of the
                  # project's own (DropPath, GaussianDropout).
                  "random product": "dropout"})
# Functions that draw random numbers (see values.Noise), and tensor methods that fill a
# tensor with them (`x.new_empty(shape).bernoulli_(keep)`).
RANDOM_DRAWS = frozenset(f"torch.{name}" for name in ("rand", "randn", "bernoulli", "normal"))
RANDOM_FILLS = frozenset({"bernoulli", "bernoulli_", "normal_", "uniform_", "exponential_",
                          "log_normal_", "geometric_", "cauchy_"})

# Tensor methods (and `torch.` functions of the same names) that reorder axes. One that may
# move the channel axis (dimension 1) is a node of its own in the IR: a norm layer after
# `x.permute(0, 2, 3, 1)` normalises another axis, so the layer before it no longer feeds
# a norm over its channels. Reorders that keep dimension 1 in place stay invisible.
AXIS_MOVES = frozenset({"permute", "transpose", "swapaxes", "swapdims", "movedim", "moveaxis",
                        "t"})


def moves_channel_axis(name: str, dims: list[object]) -> bool:
    """Whether `tensor.<name>(*dims)` may move dimension 1. `dims` are the arguments after
    the tensor; any that is not a known int counts as a move."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = list(dims[0])
    if not all(type(d) is int for d in dims):
        return True
    ints: list[int] = dims  # type: ignore[assignment]
    if name == "permute":
        # The order has one entry per dimension, so a negative entry is known too.
        return len(ints) < 2 or ints[1] % len(ints) != 1
    if len(ints) != 2:
        return True
    first, second = ints
    if name in ("transpose", "swapaxes", "swapdims"):
        # Without the tensor's rank a negative dimension may be 1.
        return first != second and (first < 0 or second < 0 or 1 in (first, second))
    if name in ("movedim", "moveaxis"):
        # Every axis between the two shifts by one place.
        return first != second and (first < 0 or second < 0
                                    or min(first, second) <= 1 <= max(first, second))
    return True  # `t()`: a 2-d tensor's second axis is its channels


# Bounds that make a clamp a rectifier: `clamp(x, min=0)` is ReLU and `clamp(x, 0, 6)` (or
# `hardtanh(x, 0, 6)`) is ReLU6. Hard-swish is often written `x * clamp(x + 3, 0, 6) / 6`.
_CLAMPS = {"clamp": ("min", "max"), "clamp_": ("min", "max"), "clip": ("min", "max"),
           "clip_": ("min", "max"), "clamp_min": ("min",), "clamp_min_": ("min",),
           "hardtanh": ("min_val", "max_val"), "hardtanh_": ("min_val", "max_val")}


def clamp_kind(name: str, pos: list[object], keywords: dict[str, object]) -> str | None:
    """"ReLU" or "ReLU6" for a clamp (a tensor method, `torch.clamp`, `F.hardtanh`) with
    known bounds of a rectifier; `pos` and `keywords` are the arguments after the tensor.
    None for other bounds, unknown ones, and other calls."""
    short = name.rsplit(".", 1)[-1]
    names = _CLAMPS.get(short)
    if names is None or ("." in name and not name.startswith(
            ("torch.clamp", "torch.clip", "torch.hardtanh", "torch.nn.functional.hardtanh"))):
        return None
    defaults = (-1.0, 1.0) if short.startswith("hardtanh") else (None, None)
    bounds = [pos[i] if i < len(pos) else keywords.get(key, defaults[i])
              for i, key in enumerate(names)]
    lower, upper = bounds[0], bounds[1] if len(bounds) > 1 else None
    if type(lower) not in (int, float) or lower != 0:
        return None
    if upper is None:
        return "ReLU"
    return "ReLU6" if type(upper) in (int, float) and upper == 6 else None


# Tensor methods that apply a layer kind (`x.relu()`), and those that only reshape or move
# data without changing what a rule sees (`x.view(n, -1)`).
TENSOR_METHOD_KIND: dict[str, str] = {
    "relu": "ReLU", "relu_": "ReLU", "sigmoid": "Sigmoid", "sigmoid_": "Sigmoid",
    "tanh": "Tanh", "tanh_": "Tanh", "softmax": "Softmax", "log_softmax": "LogSoftmax",
    "flatten": "Flatten",
}
PASSTHROUGH_METHODS = frozenset({
    "view", "reshape", "permute", "transpose", "contiguous", "unsqueeze", "squeeze", "clone",
    "float", "half", "double", "to", "cuda", "cpu", "type", "type_as", "expand", "expand_as",
    "repeat", "flip", "narrow", "mean", "sum", "amax", "max", "min", "abs", "clamp", "clamp_",
    "pow", "sqrt", "exp", "log", "neg", "squeeze_", "unsqueeze_", "view_as", "reshape_as",
    "detach", "requires_grad_", "norm", "std", "var", "t",
})
PASSTHROUGH_FUNCTIONS = frozenset({
    "torch.reshape", "torch.transpose", "torch.permute", "torch.squeeze", "torch.unsqueeze",
    "torch.mean", "torch.sum", "torch.clamp", "torch.abs", "torch.exp", "torch.log",
    "torch.nn.functional.pad", "torch.nn.functional.normalize", "torch.clone", "torch.neg",
    "torch.max", "torch.amax", "torch.nn.functional.adaptive_max_pool1d",
    # Element-wise arithmetic and statistics (a hand-written LayerNorm's `torch.sqrt(var)`).
    "torch.sqrt", "torch.rsqrt", "torch.pow", "torch.square", "torch.var", "torch.std",
    "torch.reciprocal", "torch.min", "torch.amin", "torch.floor", "torch.round",
    # Cropping or padding a feature map (the original U-Net crops its skips): the same
    # channels.
    "torchvision.transforms.functional.center_crop", "torchvision.transforms.functional.crop",
    "torchvision.transforms.functional.pad",
    # Pre-0.4 code wraps tensors for autograd: the wrapper is the tensor itself.
    "torch.autograd.Variable", "torch.autograd.variable.Variable",
})
# New tensors shaped like their first argument (`torch.zeros_like(x)`, a Fixup shortcut's
# zero padding, a VAE's `torch.randn_like(std)`): in the graph they stand for that tensor,
# so `cat([x, zeros_like(x)])` is x and no connection appears that the code does not make.
SHAPED_LIKE = frozenset(f"torch.{name}_like" for name in (
    "zeros", "ones", "empty", "full", "rand", "randn", "randint"))
# A tensor made of a tensor (`torch.tensor(x[None], dtype=torch.float)`) is its data; made
# of numbers (class weights), it is what the training reader says it is.
TENSOR_COPIES = frozenset({"torch.tensor", "torch.as_tensor"})
# Combining functions: how two or more tensors meet.
COMBINE_FUNCTIONS: dict[str, str] = {
    "torch.add": "add", "torch.cat": "cat", "torch.concat": "cat", "torch.concatenate": "cat",
    "torch.stack": "cat", "torch.mul": "mul", "torch.multiply": "mul", "torch.sub": "add",
    "torch.matmul": "mul", "torch.bmm": "mul", "torch.einsum": "mul",
}
# Layers of other libraries the reader knows as it knows torch.nn's, by qualified name.
LIBRARY_LAYERS = {"torchvision.ops.DeformConv2d": "DeformConv2d",
                  "torchvision.ops.deform_conv.DeformConv2d": "DeformConv2d"}
# Convolutions and resamplers whose inputs after the first (offsets, a modulation mask, a
# sampling grid) steer where they sample, rather than carry the features they compute on.
DEFORMABLE = frozenset({"DeformConv2d", "GridSample"})

# Reparametrisations that normalise a layer's weights and hand the layer back
# (`spectral_norm(nn.Conv2d(...))`, as GAN discriminators do): the layer's arguments then
# hold, under NORMALISED_BY (a key no constructor argument can have), which one it was.
WEIGHT_NORMALISERS = {
    f"torch.nn.utils.{where}{name}": name
    for name in ("spectral_norm", "weight_norm")
    for where in ("", "parametrizations.", f"{name}.")}
NORMALISED_BY = "weights normalised by"
# A product or sum whose inputs at these positions only steer it (a statistic of another
# tensor scaling or shifting this one, AdaIN's style): held in its node's args, under a key no
# constructor argument can have.
STEERED_BY = "#steered-by"
# An addition one of whose inputs was scaled down by a constant (EDSR's `x + 0.1 * f(x)`,
# Inception-ResNet's residual scaling): it holds the factor under this key. Damped residual
# branches keep a deep network without norm layers from growing its activations block by
# block, as normalising does.
SCALED_BRANCH = "#scaled-branch"
MAX_BRANCH_SCALE = 0.5  # the largest factor that counts as damping a branch

# What a functional conv or linear given a fixed filter is (its weight a module's buffer,
# as in anti-aliased downsampling): a filtering op like pooling, no trained layer.
FIXED_FILTER = "FixedFilter"
COMBINE_METHODS: dict[str, str] = {
    "add": "add", "add_": "add", "sub": "add", "sub_": "add", "mul": "mul", "mul_": "mul",
    "matmul": "mul", "div": "mul", "div_": "mul",
}


def family(kind: str) -> str:
    return FAMILY_OF.get(kind, "other")


def is_weighted(kind: str) -> bool:
    return family(kind) in WEIGHTED_FAMILIES


# torchvision's classification and segmentation networks built with BatchNorm layers, by
# their builder (`torchvision.models.resnet18`, `...segmentation.deeplabv3_resnet50`): a
# script that trains one trains BatchNorm. Detection models freeze theirs, so none is here.
_TORCHVISION_BATCHNORM = re.compile(
    r"^torchvision\.models\.(?:segmentation\.|resnet\.|densenet\.|vgg\.|mobilenetv2\."
    r"|mobilenetv3\.|efficientnet\.|regnet\.|inception\.|googlenet\.|shufflenetv2\."
    r"|mnasnet\.)?(?:resnet\d|resnext\d|wide_resnet\d|densenet\d|vgg\d+_bn|inception_v3"
    r"|googlenet|mobilenet_v[23]|mnasnet\d|shufflenet_v2|efficientnet_|regnet_"
    r"|deeplabv3_|fcn_|lraspp_)")


# MONAI's networks that normalise with BatchNorm unless a `norm` argument says otherwise
# (`monai.networks.nets.DenseNet121`, `...resnet.resnet50`, `SEResNet50`, `EfficientNetBN`);
# its U-Nets default to InstanceNorm and SegResNet to GroupNorm, so they are not here.
_MONAI_BATCHNORM = re.compile(
    r"^monai\.networks\.nets\.(?:[a-z_0-9]+\.)?(?:DenseNet|densenet\d|ResNet|resnet\d"
    r"|SEResNe|seresne|SENet|senet|EfficientNetBN|FlexibleUNet|HighResNet|VNet|AHNet"
    r"|HoVerNet|SegResNetDS)")
# MONAI's builders take the spatial dimensions and the input and output channels first;
# further positional arguments may reach the norm.
_MONAI_FIXED_ARGS = 3


# torchvision's classifiers built with Dropout layers at a rate above zero unless their
# `dropout=` says otherwise; all but GoogLeNet's and Inception's hold them in the module
# that ends the forward (`classifier`, see `_TORCHVISION_HEADS`), so a script that puts
# its own head there takes them out.
_TORCHVISION_DROPOUT = re.compile(
    r"^torchvision\.models\.(?:vgg\.|alexnet\.|mobilenetv2\.|mobilenetv3\.|efficientnet\."
    r"|mnasnet\.|squeezenet\.|googlenet\.|inception\.)?(?:vgg\d+|alexnet|mobilenet_v[23]"
    r"|efficientnet_|mnasnet\d|squeezenet1_|googlenet|inception_v3)")


def library_families(qualname: str, keywords: Iterable[str] = (), positional: int = 0,
                     open_args: bool = False) -> frozenset[str] | None:
    """The layer families a library network built by this call is known to hold (BatchNorm,
    for torchvision's builders and MONAI's BatchNorm networks; Dropout, for torchvision's
    classifiers built with it), or None when none is known: a norm chosen by an argument
    (`norm_layer=`, `norm=`), or arguments that may hold one."""
    if any("norm" in k for k in keywords):
        return None
    found: set[str] = set()
    if _TORCHVISION_BATCHNORM.match(qualname):
        found.add("batchnorm")
    if _TORCHVISION_DROPOUT.match(qualname) and "dropout" not in keywords and not open_args:
        found.add("dropout")
    if _MONAI_BATCHNORM.match(qualname) and not open_args and positional <= _MONAI_FIXED_ARGS:
        found.add("batchnorm")
    return frozenset(found) or None


def head_holds_dropout(qualname: str) -> bool:
    """Whether the module ending the forward of the torchvision classifier this call builds
    holds its dropout (a VGG's `classifier`, not GoogLeNet's `fc`)."""
    return bool(_TORCHVISION_DROPOUT.match(qualname)) and library_head(qualname) == "classifier"


# The attribute holding the last module a torchvision classifier's forward calls, by its
# builder: a script that replaces it (`model.fc = nn.Sequential(nn.Linear(512, 5),
# nn.Softmax(dim=1))`) decides what the network outputs.
_TORCHVISION_HEADS = (
    (re.compile(r"^(?:resnet|resnext|wide_resnet|regnet_|googlenet|inception_v3"
                r"|shufflenet_v2)"), "fc"),
    (re.compile(r"^(?:vgg|alexnet|densenet|mobilenet_v[23]|efficientnet_|mnasnet|squeezenet"
                r"|convnext_|maxvit_)"), "classifier"),
    (re.compile(r"^vit_"), "heads"),
    (re.compile(r"^swin_"), "head"),
)


def library_head(qualname: str) -> str | None:
    """The attribute whose module ends the forward of the torchvision classifier this call
    builds (`torchvision.models.resnet50` -> "fc"); None for other builders."""
    if not qualname.startswith("torchvision.models."):
        return None
    name = qualname.rsplit(".", 1)[-1]
    return next((attr for pattern, attr in _TORCHVISION_HEADS if pattern.match(name)), None)


def is_norm(kind: str) -> bool:
    return family(kind) in NORM_FAMILIES


# Image transforms (torchvision, albumentations, timm, kornia) that change images at random.
_AUGMENTATIONS = re.compile(
    r"^(Random|RandAugment|AutoAugment|TrivialAugment|AugMix|ColorJitter|ColorJiggle|"
    r"ElasticTransform|"
    r"HorizontalFlip|VerticalFlip|Flip|ShiftScaleRotate|Rotate|Affine|CoarseDropout|Cutout|"
    r"GaussNoise|GaussianBlur|Mixup|CutMix|RandomErasing|Transpose|RandomResizedCrop)")


def is_augmentation(transform: str) -> bool:
    """True for a transform class that changes images at random."""
    return bool(_AUGMENTATIONS.match(transform))
