using System.CommandLine;
using System.Text.Json;
using Orchestrator.Kernels.Configuration;
using Spectre.Console;

namespace Orchestrator.Silo.Cli;

/// <summary><c>orchestrator model-info --config F [--json]</c>: parameter counts computed from the config.</summary>
public static class ModelInfoCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo>("--config", "-c") { Description = "Model or run config (JSON)", Required = true };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table" };
        var command = new Command("model-info", "Total and activated parameter counts of a model config (MTP excluded, reported apart)") { config, json };
        command.SetAction(result => CommandErrors.Run(() =>
        {
            GlobalOptions.StartLogging(result);
            var model = ConfigLoader.LoadFile(result.GetRequiredValue(config).FullName).Model!;
            var count = ParameterCount.For(model);
            if (result.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(ToJson(model, count), new JsonSerializerOptions { WriteIndented = true }));
            else Render(model, count);
            return Task.FromResult(0);
        }));
        return command;
    }

    private static Dictionary<string, object> ToJson(ModelConfig m, ParameterCount c) => new()
    {
        ["params_total"] = c.Total,
        ["params_active"] = c.Activated,
        ["params_mtp"] = c.Mtp,
        ["params_embedding"] = c.Embedding,
        ["params_attention"] = c.Attention,
        ["params_dense_ffn"] = c.DenseFfn,
        ["params_experts"] = c.Experts,
        ["layers"] = m.Layers,
        ["moe_layers"] = m.MoeLayers,
        ["routed_experts"] = m.RoutedExperts,
        ["activated_experts"] = m.ActivatedExperts,
    };

    private static void Render(ModelConfig m, ParameterCount c)
    {
        var table = new Table().AddColumn("parameters").AddColumn(new TableColumn("count").RightAligned()).AddColumn(new TableColumn("").RightAligned());
        void Row(string name, long value) => table.AddRow(name, value.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), Human(value));
        Row("total (MTP excluded)", c.Total);
        Row("activated per token", c.Activated);
        Row("MTP modules", c.Mtp);
        Row("embedding", c.Embedding);
        Row("attention (MLA)", c.Attention);
        Row("dense FFN", c.DenseFfn);
        Row("experts (routed + shared)", c.Experts);
        AnsiConsole.MarkupLine($"[bold]{m.Layers}[/] layers ({m.DenseLayers} dense, {m.MoeLayers} MoE), {m.RoutedExperts} routed + {m.SharedExperts} shared experts, top-{m.ActivatedExperts}");
        AnsiConsole.Write(table);
    }

    private static string Human(long value) => value switch
    {
        >= 1_000_000_000 => $"{value / 1e9:F2} B",
        >= 1_000_000 => $"{value / 1e6:F2} M",
        >= 1_000 => $"{value / 1e3:F1} K",
        _ => value.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
