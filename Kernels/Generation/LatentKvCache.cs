using static TorchSharp.torch;

namespace Orchestrator.Kernels.Generation;

/// <summary>
/// MLA's compressed KV cache for one stack of attention layers (the main model's, or one MTP module's): per layer,
/// row and position only the normalised latent c_KV [kv_lora_rank] and the rotated decoupled RoPE key
/// [qk_rope_head_dim], never per-head keys or values. Each row keeps its own length: row i's next token goes to slot
/// <c>Lengths[i]</c>, and slots at or past a row's length are masked (whatever they hold), so rolling a row back is
/// setting its length.
/// </summary>
public sealed class LatentKvCache : IDisposable
{
    private readonly Tensor[] _latents;
    private readonly Tensor[] _ropeKeys;
    private readonly long[] _lengths;

    /// <summary>An empty cache of <paramref name="layers"/> layers for <paramref name="rows"/> rows of up to <paramref name="capacity"/> positions.</summary>
    public LatentKvCache(int layers, int rows, int capacity, int latentDim, int ropeDim, Device device)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        Capacity = capacity;
        _latents = new Tensor[layers];
        _ropeKeys = new Tensor[layers];
        for (var l = 0; l < layers; l++)
        {
            _latents[l] = zeros([rows, capacity, latentDim], ScalarType.Float32, device).DetachFromDisposeScope();
            _ropeKeys[l] = zeros([rows, capacity, ropeDim], ScalarType.Float32, device).DetachFromDisposeScope();
        }
        _lengths = new long[rows];
    }

    /// <summary>Positions each row can hold.</summary>
    public int Capacity { get; }

    /// <summary>Attention layers cached.</summary>
    public int Layers => _latents.Length;

    /// <summary>Rows (sequences) cached.</summary>
    public int Rows => _lengths.Length;

    /// <summary>Valid positions of each row: row i's slots 0..Lengths[i]−1 hold its tokens.</summary>
    public IReadOnlyList<long> Lengths => _lengths;

    /// <summary>The latent c_KV of layer <paramref name="layer"/>, [rows, capacity, kv_lora_rank].</summary>
    public Tensor Latent(int layer) => _latents[layer];

    /// <summary>The rotated RoPE key of layer <paramref name="layer"/>, [rows, capacity, qk_rope_head_dim].</summary>
    public Tensor RopeKey(int layer) => _ropeKeys[layer];

    /// <summary>Bytes the cache holds: layers × rows × capacity × (kv_lora_rank + qk_rope_head_dim) × 4.</summary>
    public long Bytes => _latents.Sum(t => t.NumberOfElements * t.ElementSize) + _ropeKeys.Sum(t => t.NumberOfElements * t.ElementSize);

    /// <summary>
    /// Writes layer <paramref name="layer"/>'s entries for <paramref name="slots"/> [rows, T] (int64, the absolute
    /// positions of the new tokens): latent [rows, T, kv_lora_rank], rope key [rows, T, rope].
    /// </summary>
    public void Write(int layer, Tensor slots, Tensor latent, Tensor ropeKey)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var index = slots.unsqueeze(-1);
        _latents[layer].scatter_(1, index.expand(latent.shape), latent);
        _ropeKeys[layer].scatter_(1, index.expand(ropeKey.shape), ropeKey);
    }

    /// <summary>Sets row <paramref name="row"/>'s length (after writing its new tokens, or to roll back past a rejection).</summary>
    public void SetLength(int row, long length)
    {
        if (length < 0 || length > Capacity)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"a row holds 0..{Capacity} positions");
        _lengths[row] = length;
    }

    public void Dispose()
    {
        foreach (var t in _latents) t.Dispose();
        foreach (var t in _ropeKeys) t.Dispose();
    }
}
