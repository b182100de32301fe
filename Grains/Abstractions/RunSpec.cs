namespace Orchestrator.Grains;

/// <summary>
/// A job's model and training config, <c>{"model": …, "training": …}</c>, overrides applied, in the canonical
/// JSON that Kernels' <c>ConfigLoader.ToJson</c> writes. It travels in this form because the typed config
/// (<c>RunConfig</c>) lives in Kernels, which cannot carry Orleans attributes, and this project stays free of
/// Kernels so that clients carry no libtorch. Read it typed through <c>RunConfigCache.Config</c> (Grains.Specs):
/// it is parsed once per process and config, not once per message or per call.
/// </summary>
/// <param name="Json">The canonical JSON; two equal configs have equal text, so the text is the cache key.</param>
[GenerateSerializer, Immutable]
public sealed record RunSpec([property: Id(0)] string Json);
