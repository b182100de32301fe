namespace Orchestrator.Kernels.Tests;

/// <summary>Kernels never references Orleans (docs/DESIGN.md, top-level layout): compute stays independent of the control plane.</summary>
public sealed class KernelsDependencyTests
{
    [Fact]
    public void Kernels_ReferencesNoOrleansAssembly()
    {
        var kernels = typeof(Orchestrator.Kernels.Configuration.ConfigLoader).Assembly;
        var orleans = kernels.GetReferencedAssemblies().Where(a => a.Name!.StartsWith("Orleans", StringComparison.Ordinal)).Select(a => a.Name).ToList();
        Assert.Empty(orleans);
        Assert.Contains(kernels.GetReferencedAssemblies(), a => a.Name == "TorchSharp"); // the check reads real references
    }
}
