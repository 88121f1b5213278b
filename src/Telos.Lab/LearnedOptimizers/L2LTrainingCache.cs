using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Telos.Learning.LearnedOptimizers;
using Telos.Randomness;
using TorchSharp;

namespace Telos.Lab.LearnedOptimizers;

/// <summary>
/// Names the entries of <c>l2l-cache/</c>, where <c>reuse_trained = true</c> keeps meta-trained optimizers:
/// the same training settings, seed and training code give the same optimizer, so a hash of the three
/// names the file. Evaluation settings are not part of the key (the generalization runs share one optimizer).
/// </summary>
internal static class L2LTrainingCache
{
    /// <summary>Folder next to the run directories.</summary>
    public const string Folder = "l2l-cache";

    /// <summary>
    /// The code that decides a meta-trained optimizer's weights: the module version ids of Telos (seeds),
    /// Telos.Learning (LSTM, meta-trainer, optimizees), Telos.Lab (this study) and TorchSharp. The build is
    /// deterministic, so the same source and compiler give the same ids and any change to these
    /// assemblies gives new ones: a cache entry written by other code is never served.
    /// </summary>
    public static string CodeIdentity { get; } = string.Join(",", new[] { typeof(Seeds), typeof(MetaTrainer), typeof(L2LTrainingCache), typeof(torch) }
        .Select(t => t.Assembly)
        .Select(a => $"{a.GetName().Name} {a.ManifestModule.ModuleVersionId:N}"));

    /// <summary>File name (16 hex digits + <c>.l2l</c>) of the optimizer trained with these settings, training task, seed and code.</summary>
    public static string FileName(L2LSettings settings, string trainTask, ulong seed, string codeIdentity)
    {
        var text = JsonSerializer.Serialize(new { settings.Optimizer, settings.Meta, train = trainTask, quad = settings.Quadratic, mlp = settings.TrainMlp, seed, code = codeIdentity });
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16] + ".l2l";
    }
}
