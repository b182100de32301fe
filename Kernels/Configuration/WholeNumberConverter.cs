using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestrator.Kernels.Configuration;

/// <summary>
/// Reads an integer field so that a whole number past the field's type is refused as out of range
/// (System.Text.Json says only "could not be converted to System.Int32", which reads like a type error)
/// and a fraction as not whole. Anything but a number keeps the serializer's own message.
/// </summary>
public sealed class WholeNumberConverter<T> : JsonConverter<T>
    where T : struct, IBinaryInteger<T>, IMinMaxValue<T>
{
    /// <inheritdoc />
    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.Number) throw new JsonException();
        var text = reader.HasValueSequence ? Encoding.UTF8.GetString(reader.ValueSequence) : Encoding.UTF8.GetString(reader.ValueSpan);
        if (T.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)) return value;
        throw new JsonException(WholeNumbers.IsLiteral(text) ? WholeNumbers.OutOfRange(text, T.MinValue, T.MaxValue) : $"must be a whole number (got {text})");
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
        writer.WriteRawValue(value.ToString(null, CultureInfo.InvariantCulture), skipInputValidation: true);
}
