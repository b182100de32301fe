using static TorchSharp.torch;

namespace Orchestrator.Kernels.Fp8;

/// <summary>
/// A block-scaled E4M3 tensor: <paramref name="Codes"/> (uint8, the input's shape; see
/// <see cref="Fp8TensorQuantizer.ToTorchFloat8"/> for libtorch's <c>float8_e4m3fn</c>) and
/// float32 <paramref name="Scales"/>, one per <paramref name="BlockRows"/> × <paramref name="BlockColumns"/> tile.
/// </summary>
public sealed record Fp8Tensor(Tensor Codes, Tensor Scales, int BlockRows, int BlockColumns);
