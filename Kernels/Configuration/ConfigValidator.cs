namespace Orchestrator.Kernels.Configuration;

/// <summary>Consistency rules of a model and training config; each broken rule names its field.</summary>
public static class ConfigValidator
{
    private static readonly string[] ScoreFunctions = ["sigmoid", "softmax"];
    private static readonly string[] Precisions = ["float32", "bfloat16", "fp8"];
    private static readonly string[] GroupedExpertSettings = ["auto", "on", "off"];

    /// <summary>All problems found, empty when the config is usable.</summary>
    public static IReadOnlyList<string> Validate(ModelConfig m, TrainingConfig? t = null)
    {
        var p = new List<string>();
        void Positive(string field, double value)
        {
            if (!(value > 0)) p.Add($"model.{field}: must be greater than 0 (got {value})");
        }
        void NonNegative(string field, double value)
        {
            if (value < 0 || double.IsNaN(value)) p.Add($"model.{field}: must not be negative (got {value})");
        }

        Positive("vocab_size", m.VocabSize);
        Positive("dim", m.Dim);
        Positive("n_layers", m.Layers);
        Positive("n_heads", m.Heads);
        Positive("kv_lora_rank", m.KvLoraRank);
        Positive("qk_nope_head_dim", m.QkNopeHeadDim);
        Positive("qk_rope_head_dim", m.QkRopeHeadDim);
        Positive("v_head_dim", m.VHeadDim);
        Positive("max_seq_len", m.MaxSequenceLength);
        Positive("rope_theta", m.RopeTheta);
        Positive("norm_eps", m.NormEps);
        Positive("route_scale", m.RouteScale);
        Positive("init_std", m.InitStd);
        NonNegative("q_lora_rank", m.QueryLoraRank);
        NonNegative("n_dense_layers", m.DenseLayers);
        NonNegative("mtp_depth", m.MtpDepth);
        NonNegative("mtp_loss_weight", m.MtpLossWeight);
        NonNegative("balance_loss_alpha", m.BalanceLossAlpha);
        if (m.QkRopeHeadDim % 2 != 0) p.Add($"model.qk_rope_head_dim: must be even, RoPE rotates pairs (got {m.QkRopeHeadDim})");
        if (m.DenseLayers > m.Layers) p.Add($"model.n_dense_layers: {m.DenseLayers} exceeds model.n_layers ({m.Layers})");
        if (m.DenseLayers > 0) Positive("inter_dim", m.InterDim);
        if (!ScoreFunctions.Contains(m.ScoreFunction)) p.Add($"model.score_func: must be one of {string.Join(", ", ScoreFunctions)} (got \"{m.ScoreFunction}\")");
        if (m.GroupedExperts is not null && !GroupedExpertSettings.Contains(m.GroupedExperts))
            p.Add($"model.grouped_experts: must be one of {string.Join(", ", GroupedExpertSettings)} (got \"{m.GroupedExperts}\")");
        if (!Precisions.Contains(m.GemmPrecision)) p.Add($"model.dtype: must be one of {string.Join(", ", Precisions)} (got \"{m.GemmPrecision}\")");

        var hasMoe = m.Layers > m.DenseLayers || m.MtpDepth > 0;
        if (hasMoe) ValidateExperts(m, p);
        if (t is not null) ValidateTraining(t, p);
        return p;
    }

    private static void ValidateExperts(ModelConfig m, List<string> p)
    {
        if (m.MoeInterDim <= 0) p.Add($"model.moe_inter_dim: must be greater than 0 (got {m.MoeInterDim})");
        if (m.RoutedExperts <= 0) { p.Add($"model.n_routed_experts: must be greater than 0 (got {m.RoutedExperts})"); return; }
        if (m.SharedExperts < 0) p.Add($"model.n_shared_experts: must not be negative (got {m.SharedExperts})");
        if (m.ActivatedExperts <= 0) p.Add($"model.n_activated_experts: must be greater than 0 (got {m.ActivatedExperts})");
        if (m.ActivatedExperts > m.RoutedExperts)
            p.Add($"model.n_activated_experts: top-k {m.ActivatedExperts} exceeds model.n_routed_experts ({m.RoutedExperts})");
        if (m.ExpertGroups <= 0) { p.Add($"model.n_expert_groups: must be greater than 0 (got {m.ExpertGroups})"); return; }
        if (m.RoutedExperts % m.ExpertGroups != 0)
            p.Add($"model.n_expert_groups: {m.ExpertGroups} does not divide model.n_routed_experts ({m.RoutedExperts})");
        if (m.LimitedGroups <= 0 || m.LimitedGroups > m.ExpertGroups)
            p.Add($"model.n_limited_groups: must be between 1 and model.n_expert_groups ({m.ExpertGroups}) (got {m.LimitedGroups})");
        else if (m.RoutedExperts % m.ExpertGroups == 0 && m.LimitedGroups * (m.RoutedExperts / m.ExpertGroups) < m.ActivatedExperts)
            p.Add($"model.n_limited_groups: {m.LimitedGroups} groups of {m.RoutedExperts / m.ExpertGroups} experts cannot hold top-k {m.ActivatedExperts}");
    }

    private static void ValidateTraining(TrainingConfig t, List<string> p)
    {
        void Positive(string field, double value)
        {
            if (!(value > 0)) p.Add($"training.{field}: must be greater than 0 (got {value})");
        }
        Positive("seq_len", t.SequenceLength);
        Positive("micro_batch_size", t.MicroBatchSize);
        Positive("gradient_accumulation", t.GradientAccumulation);
        Positive("lr", t.LearningRate);
        Positive("eps", t.Epsilon);
        Positive("threads", t.Threads);
        if (t.MinLearningRate < 0 || t.MinLearningRate > t.LearningRate) p.Add($"training.min_lr: must be between 0 and training.lr ({t.LearningRate}) (got {t.MinLearningRate})");
        if (t.WarmupSteps < 0) p.Add($"training.warmup_steps: must not be negative (got {t.WarmupSteps})");
        if (t.DecaySteps < 0) p.Add($"training.decay_steps: must not be negative (got {t.DecaySteps})");
        if (t.WeightDecay < 0) p.Add($"training.weight_decay: must not be negative (got {t.WeightDecay})");
        if (t.Beta1 is < 0 or >= 1) p.Add($"training.beta1: must be in [0, 1) (got {t.Beta1})");
        if (t.Beta2 is < 0 or >= 1) p.Add($"training.beta2: must be in [0, 1) (got {t.Beta2})");
        if (t.GradientClip < 0) p.Add($"training.grad_clip: must not be negative, 0 disables clipping (got {t.GradientClip})");
        if (t.BiasUpdateSpeed < 0) p.Add($"training.bias_update_speed: must not be negative (got {t.BiasUpdateSpeed})");
        if (t.BiasUpdateFreezeStep < 0) p.Add($"training.bias_update_freeze_step: must not be negative (got {t.BiasUpdateFreezeStep})");
        if (t.BiasUpdateSpeedEarly < 0) p.Add($"training.bias_update_speed_early: must not be negative (got {t.BiasUpdateSpeedEarly})");
        if (t.BiasUpdateEarlySteps < 0) p.Add($"training.bias_update_early_steps: must not be negative (got {t.BiasUpdateEarlySteps})");
        if (t.BiasUpdateEarlySteps > 0 && t.BiasUpdateSpeedEarly == 0)
            p.Add($"training.bias_update_speed_early: must be set (> 0) when training.bias_update_early_steps is {t.BiasUpdateEarlySteps}");
        if (t.BiasUpdateSpeedEarly > 0 && t.BiasUpdateEarlySteps == 0)
            p.Add($"training.bias_update_early_steps: must be set (> 0) when training.bias_update_speed_early is {t.BiasUpdateSpeedEarly}");
        if (t.BiasUpdateFreezeStep > 0 && t.BiasUpdateEarlySteps > t.BiasUpdateFreezeStep)
            p.Add($"training.bias_update_early_steps: must not pass training.bias_update_freeze_step ({t.BiasUpdateEarlySteps} > {t.BiasUpdateFreezeStep})");
    }
}
