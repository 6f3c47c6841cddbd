"""The names a star import of a library binds (`from tqdm import *`, `from torch.nn import
*`), for the libraries whose names a model or training script uses that way. The reader
never imports a library, so it cannot list a module's public names itself; without them,
`tqdm(loader)` after `from tqdm import *` would be a call of a name it does not know, and
the rules about what a training loop lacks would stay silent for a whole script."""

from __future__ import annotations


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


STAR_EXPORTS: dict[str, frozenset[str]] = {
    "torch.nn": _names("""
    AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveAvgPool3d AdaptiveLogSoftmaxWithLoss
    AdaptiveMaxPool1d AdaptiveMaxPool2d AdaptiveMaxPool3d AlphaDropout AvgPool1d
    AvgPool2d AvgPool3d BCELoss BCEWithLogitsLoss BatchNorm1d BatchNorm2d BatchNorm3d
    Bilinear Buffer CELU CTCLoss ChannelShuffle CircularPad1d CircularPad2d
    CircularPad3d ConstantPad1d ConstantPad2d ConstantPad3d Container Conv1d Conv2d
    Conv3d ConvTranspose1d ConvTranspose2d ConvTranspose3d CosineEmbeddingLoss
    CosineSimilarity CrossEntropyLoss CrossMapLRN2d DataParallel Dropout Dropout1d
    Dropout2d Dropout3d ELU Embedding EmbeddingBag FeatureAlphaDropout Flatten Fold
    FractionalMaxPool2d FractionalMaxPool3d GELU GLU GRU GRUCell GaussianNLLLoss
    GroupNorm Hardshrink Hardsigmoid Hardswish Hardtanh HingeEmbeddingLoss HuberLoss
    Identity InstanceNorm1d InstanceNorm2d InstanceNorm3d KLDivLoss L1Loss LPPool1d
    LPPool2d LPPool3d LSTM LSTMCell LayerNorm LazyBatchNorm1d LazyBatchNorm2d
    LazyBatchNorm3d LazyConv1d LazyConv2d LazyConv3d LazyConvTranspose1d
    LazyConvTranspose2d LazyConvTranspose3d LazyInstanceNorm1d LazyInstanceNorm2d
    LazyInstanceNorm3d LazyLinear LeakyReLU Linear LinearCrossEntropyLoss
    LinearCrossEntropyOptions LocalResponseNorm LogSigmoid LogSoftmax MSELoss
    MarginRankingLoss MaxPool1d MaxPool2d MaxPool3d MaxUnpool1d MaxUnpool2d MaxUnpool3d
    Mish Module ModuleDict ModuleList MultiLabelMarginLoss MultiLabelSoftMarginLoss
    MultiMarginLoss MultiheadAttention NLLLoss NLLLoss2d PReLU PairwiseDistance
    Parameter ParameterDict ParameterList PixelShuffle PixelUnshuffle PoissonNLLLoss
    RMSNorm RNN RNNBase RNNCell RNNCellBase RReLU ReLU ReLU6 ReflectionPad1d
    ReflectionPad2d ReflectionPad3d ReplicationPad1d ReplicationPad2d ReplicationPad3d
    SELU Sequential SiLU Sigmoid SmoothL1Loss SoftMarginLoss Softmax Softmax2d Softmin
    Softplus Softshrink Softsign SyncBatchNorm Tanh Tanhshrink Threshold Transformer
    TransformerDecoder TransformerDecoderLayer TransformerEncoder
    TransformerEncoderLayer TripletMarginLoss TripletMarginWithDistanceLoss Unflatten
    Unfold UninitializedBuffer UninitializedParameter Upsample UpsamplingBilinear2d
    UpsamplingNearest2d ZeroPad1d ZeroPad2d ZeroPad3d functional init parallel utils
    """),
    "torch.optim": _names("""
    Adafactor Adadelta Adagrad Adam Adamax AdamW ASGD LBFGS lr_scheduler NAdam Optimizer
    RAdam RMSprop Rprop SGD SparseAdam swa_utils
    """),
    "torchvision.transforms": _names("""
    Compose ToTensor PILToTensor ConvertImageDtype ToPILImage Normalize Resize
    CenterCrop Pad Lambda RandomApply RandomChoice RandomOrder RandomCrop
    RandomHorizontalFlip RandomVerticalFlip RandomResizedCrop FiveCrop TenCrop
    LinearTransformation ColorJitter RandomRotation RandomAffine Grayscale
    RandomGrayscale RandomPerspective RandomErasing GaussianBlur InterpolationMode
    RandomInvert RandomPosterize RandomSolarize RandomAdjustSharpness RandomAutocontrast
    RandomEqualize ElasticTransform AutoAugmentPolicy AutoAugment RandAugment
    TrivialAugmentWide AugMix
    """),
    "tqdm": _names("tqdm trange tqdm_notebook tnrange"),
    "tqdm.auto": _names("tqdm trange"),
    "tqdm.notebook": _names("tqdm trange"),
}
