using static TorchSharp.torch;

namespace Telos.Learning.LearnedOptimizers;

/// <summary>
/// A trained LSTM optimizer as a drop-in optimizer for any parameter vector in Telos (for example an
/// objective's weights): call <see cref="Step(Span{float}, ReadOnlySpan{float})"/> with the current
/// parameters and their gradient each iteration. State is per coordinate and kept between calls;
/// <see cref="Reset"/> before optimizing something else. Save/load with <see cref="Save"/> and <see cref="Load"/>.
/// </summary>
public sealed class LearnedOptimizer : IDisposable
{
    private readonly CoordinatewiseLstm _network;
    private readonly LstmRule _rule;

    /// <summary>Wraps <paramref name="network"/> (owned from now on).</summary>
    public LearnedOptimizer(CoordinatewiseLstm network)
    {
        _network = network;
        _rule = new LstmRule(network);
    }

    /// <summary>The underlying network.</summary>
    public CoordinatewiseLstm Network => _network;

    /// <summary>Forgets the per-coordinate state.</summary>
    public void Reset() => _rule.Reset();

    /// <summary>
    /// θ ← θ + m(∇): updates <paramref name="parameters"/> [n] in place from <paramref name="gradient"/> [n].
    /// The number of coordinates may change only after <see cref="Reset"/> (a new n resets anyway).
    /// </summary>
    public void Step(Span<float> parameters, ReadOnlySpan<float> gradient)
    {
        if (parameters.Length != gradient.Length)
        {
            throw new ArgumentException($"parameters ({parameters.Length}) and gradient ({gradient.Length}) differ in length");
        }
        using var scope = NewDisposeScope();
        var update = _rule.Step(tensor(gradient.ToArray()));
        var values = update.data<float>();
        for (var i = 0; i < parameters.Length; i++)
        {
            parameters[i] += values[i];
        }
    }

    /// <summary>The update g = m(∇) for a gradient tensor of any shape (same shape out), without applying it.</summary>
    public Tensor Step(Tensor gradient) => _rule.Step(gradient);

    /// <summary>Writes the architecture and weights to <paramref name="path"/> atomically.</summary>
    public void Save(string path)
    {
        var o = _network.Options;
        Telos.IO.AtomicFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            writer.Write("telos-l2l-1");
            writer.Write(o.HiddenSize);
            writer.Write(o.Layers);
            writer.Write((int)o.Preprocessing);
            writer.Write(o.PreprocessingParameter);
            writer.Write(o.OutputScale);
            _network.save(writer);
        });
    }

    /// <summary>Reads what <see cref="Save"/> wrote.</summary>
    /// <exception cref="TelosInputException">Missing or not a Telos LSTM optimizer file; the message names the path.</exception>
    public static LearnedOptimizer Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new TelosInputException($"{path}: no such learned-optimizer file");
        }
        using var reader = new BinaryReader(File.OpenRead(path));
        string magic;
        try
        {
            magic = reader.ReadString();
        }
        catch (Exception e) when (e is EndOfStreamException or IOException)
        {
            magic = "";
        }
        if (magic != "telos-l2l-1")
        {
            throw new TelosInputException($"{path}: not a Telos learned-optimizer file");
        }
        var options = new LstmOptimizerOptions(reader.ReadInt32(), reader.ReadInt32(), (GradientPreprocessing)reader.ReadInt32(), reader.ReadDouble(), reader.ReadDouble());
        var network = new CoordinatewiseLstm(options, seed: 0); // weights are overwritten by the load
        network.load(reader);
        return new LearnedOptimizer(network);
    }

    public void Dispose()
    {
        _rule.Dispose();
        _network.Dispose();
    }
}
