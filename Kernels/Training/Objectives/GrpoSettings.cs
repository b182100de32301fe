namespace Orchestrator.Kernels.Training.Objectives;

/// <summary>GRPO's constants: the ratio clip ε, the KL coefficient β and the ε added to the group's standard deviation.</summary>
/// <param name="Clip">ε of the clipped ratio objective (0.2 in the spec's default).</param>
/// <param name="KlCoefficient">β, the weight of the k3 KL estimate against the reference policy.</param>
/// <param name="AdvantageEpsilon">Added to the group's standard deviation, so a group of equal rewards gives zero advantages.</param>
public sealed record GrpoSettings(double Clip = 0.2, double KlCoefficient = 0.04, double AdvantageEpsilon = 1e-4);
