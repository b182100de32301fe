using System.Runtime.InteropServices;
using Orchestrator.Kernels.Gpu;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.GpuBench;

/// <summary>
/// The quantisation kernels called directly (no allocation between launches), and the switch between
/// their two value encoders: a division per value, or the reciprocal multiply with its exact fix-up
/// near rounding boundaries (the default). The bench checks both bit-equal to the CPU codec and times both.
/// </summary>
internal static unsafe class QuantKernel
{
    private static delegate* unmanaged<int, int> _mode;
    private static delegate* unmanaged<byte*> _lastError;
    private static delegate* unmanaged<ulong, long, ulong*, int> _encoderCheck;
    private static delegate* unmanaged<IntPtr, int, long, long, int, int, IntPtr, IntPtr, int, long, IntPtr, int> _quantize;

    private static void Bind()
    {
        if (_mode != null) return;
        var path = Environment.GetEnvironmentVariable(CudaKernels.EnvironmentVariable)
            ?? throw new InvalidOperationException($"{CudaKernels.EnvironmentVariable} is not set");
        var handle = NativeLibrary.Load(path); // the same library CudaKernels loaded: one handle, counted
        _mode = (delegate* unmanaged<int, int>)NativeLibrary.GetExport(handle, "orch_fp8_quant_mode");
        _encoderCheck = (delegate* unmanaged<ulong, long, ulong*, int>)NativeLibrary.GetExport(handle, "orch_fp8_encoder_check");
        _lastError = (delegate* unmanaged<byte*>)NativeLibrary.GetExport(handle, "orch_last_error");
        _quantize = (delegate* unmanaged<IntPtr, int, long, long, int, int, IntPtr, IntPtr, int, long, IntPtr, int>)
            NativeLibrary.GetExport(handle, "orch_fp8_quantize");
    }

    /// <summary>The encoder in force: true for the reciprocal one.</summary>
    public static bool Fast
    {
        get
        {
            Bind();
            return _mode(-1) == 1;
        }
        set
        {
            Bind();
            _mode(value ? 1 : 0);
        }
    }

    /// <summary>Disagreements of the reciprocal encoder with the division over <paramref name="count"/> hashed values on the GPU.</summary>
    public static ulong EncoderMismatches(ulong seed, long count)
    {
        Bind();
        ulong mismatches;
        var code = _encoderCheck(seed, count, &mismatches);
        if (code != 0)
            throw new InvalidOperationException($"fp8 encoder check: {Marshal.PtrToStringUTF8((IntPtr)_lastError()) ?? "no message"} (code {code})");
        return mismatches;
    }

    /// <summary>Quantises <paramref name="matrix"/> again into <paramref name="into"/>'s buffers (its shape and settings).</summary>
    public static void Requantize(Tensor matrix, GpuFp8Operand into, bool transpose)
    {
        Bind();
        var code = _quantize(TensorPointer.Of(matrix), matrix.dtype == ScalarType.Float32 ? 0 : 1, matrix.shape[0], matrix.shape[1],
            (int)into.Grouping, transpose ? 1 : 0, TensorPointer.Of(into.Codes), TensorPointer.Of(into.Scales), into.ScaleLayout, into.ScaleStride, IntPtr.Zero);
        if (code != 0)
            throw new InvalidOperationException($"fp8 quantise (bench): {Marshal.PtrToStringUTF8((IntPtr)_lastError()) ?? "no message"} (code {code})");
    }
}
