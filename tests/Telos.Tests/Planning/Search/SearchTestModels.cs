using Telos.Environments;
using Telos.Planning.Search;

namespace Telos.Tests.Planning.Search;

/// <summary>
/// A pseudo-random tree: a node is a 64-bit hash of its path; its legal actions, prior, value and
/// the reward into it are functions of the hash (plus optional reward noise from the root's
/// stream). About one node in seven is terminal. Throws if it is ever asked to expand an action
/// that is illegal at the parent, so any selection of a masked action fails the test.
/// </summary>
internal sealed class RandomTreeModel(int actionCount, float discount = 1f, float rewardNoise = 0f) : IRecurrentModel<ulong>
{
    public int Calls { get; private set; }

    public static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public static bool IsTerminal(ulong h) => h % 7 == 0;

    public static void Legal(ulong h, Span<bool> valid)
    {
        if (IsTerminal(h))
        {
            valid.Clear();
            return;
        }
        for (var a = 0; a < valid.Length; a++)
        {
            valid[a] = ((h >> (a + 5)) & 1) == 1;
        }
        valid[(int)((h >> 40) % (ulong)valid.Length)] = true;
    }

    public static void Logits(ulong h, Span<float> logits)
    {
        for (var a = 0; a < logits.Length; a++)
        {
            logits[a] = ((h >> (a * 3 % 60)) & 7) * 0.4f;
        }
    }

    public static float Value(ulong h) => IsTerminal(h) ? 0f : ((h >> 30) & 0xFF) / 255f - 0.5f;

    /// <summary>Root embeddings that are not terminal, with their logits, values and masks.</summary>
    public static (ulong[] Embeddings, float[] Logits, float[] Values, bool[] Valid) Roots(int count, int actionCount, ulong salt)
    {
        var embeddings = new ulong[count];
        var logits = new float[count * actionCount];
        var values = new float[count];
        var valid = new bool[count * actionCount];
        var h = Mix(salt);
        for (var i = 0; i < count; i++)
        {
            do
            {
                h = Mix(h);
            }
            while (IsTerminal(h));
            embeddings[i] = h;
            Logits(h, logits.AsSpan(i * actionCount, actionCount));
            values[i] = Value(h);
            Legal(h, valid.AsSpan(i * actionCount, actionCount));
        }
        return (embeddings, logits, values, valid);
    }

    public void Recurrent(in RecurrentBatch<ulong> batch)
    {
        Calls++;
        Span<bool> parentValid = stackalloc bool[actionCount];
        for (var row = 0; row < batch.Count; row++)
        {
            var parent = batch.Embeddings[row];
            var action = batch.Actions[row];
            Legal(parent, parentValid);
            if (!parentValid[action])
            {
                throw new InvalidOperationException($"expanded illegal action {action} at node {parent:x}");
            }
            var h = Mix(parent * 31 + (ulong)action + 1);
            batch.NextEmbeddings[row] = h;
            var noise = rewardNoise == 0 ? 0f : rewardNoise * (float)(batch.Random[row].NextDouble() - 0.5);
            batch.Rewards[row] = ((h >> 20) & 0xFF) / 255f - 0.5f + noise;
            batch.Discounts[row] = IsTerminal(h) ? 0f : discount;
            batch.Values[row] = Value(h);
            Logits(h, batch.PriorLogitsOf(row));
            Legal(h, batch.ValidActionsOf(row));
        }
    }
}

/// <summary>
/// A bandit as a tree: pulling arm a from the root (embedding −1) leads to a node of arm a whose
/// value, and the value of every node below it, is a noisy sample of the arm's mean, so a node's
/// backed-up value is the average of its samples. Rewards are 0.
/// </summary>
internal sealed class StochasticBanditModel(float[] means, float noise) : IRecurrentModel<int>
{
    public void Recurrent(in RecurrentBatch<int> batch)
    {
        for (var row = 0; row < batch.Count; row++)
        {
            var arm = batch.Embeddings[row] < 0 ? batch.Actions[row] : batch.Embeddings[row];
            batch.NextEmbeddings[row] = arm;
            batch.Values[row] = means[arm] + noise * (float)(2 * batch.Random[row].NextDouble() - 1);
        }
    }
}

/// <summary>A one-step deterministic bandit: arm a pays rewards[a] and ends the episode.</summary>
internal sealed class DeterministicBanditModel(float[] rewards) : IRecurrentModel<int>
{
    public void Recurrent(in RecurrentBatch<int> batch)
    {
        for (var row = 0; row < batch.Count; row++)
        {
            batch.NextEmbeddings[row] = batch.Actions[row];
            batch.Rewards[row] = rewards[batch.Actions[row]];
            batch.Discounts[row] = 0f;
            batch.ValidActionsOf(row).Clear();
        }
    }
}

/// <summary>Nim position: three heaps and nothing else; the player who takes the last object wins.</summary>
internal readonly record struct NimState(byte H0, byte H1, byte H2)
{
    public int Heap(int i) => i switch { 0 => H0, 1 => H1, _ => H2 };
}

/// <summary>
/// Normal-play Nim over three heaps of at most 7: action = heap·4 + (take − 1), take 1..4.
/// Reward +1 to the mover who empties the board (from the mover's view, so the search needs discount −1).
/// </summary>
internal sealed class NimEnvironment : IEnvironment<NimState>
{
    public const int MaxTake = 4;

    public string Name => "nim";

    public int ActionCount => 3 * MaxTake;

    public NimState Initial => new(1, 2, 4);

    public int StepLimit => 64;

    public FeatureSchema Features { get; } = new(["heap0", "heap1", "heap2"]);

    public ObservationShape ObservationShape => new(1, 1, 3);

    public StepResult<NimState> Step(in NimState state, int action)
    {
        var heap = action / MaxTake;
        var take = action % MaxTake + 1;
        var h = new int[] { state.H0, state.H1, state.H2 };
        if (h[heap] < take)
        {
            throw new ArgumentOutOfRangeException(nameof(action), action, "takes more than the heap holds");
        }
        h[heap] -= take;
        var next = new NimState((byte)h[0], (byte)h[1], (byte)h[2]);
        var won = h[0] + h[1] + h[2] == 0;
        return new StepResult<NimState>(next, won ? 1f : 0f, won, false);
    }

    public void LegalActions(in NimState state, Span<bool> legal)
    {
        for (var a = 0; a < ActionCount; a++)
        {
            legal[a] = state.Heap(a / MaxTake) >= a % MaxTake + 1;
        }
    }

    public void WriteFeatures(in NimState state, Span<double> features)
    {
        features[0] = state.H0;
        features[1] = state.H1;
        features[2] = state.H2;
    }

    public void WriteObservation(in NimState state, Span<float> observation)
    {
        observation[0] = state.H0;
        observation[1] = state.H1;
        observation[2] = state.H2;
    }
}

/// <summary>The exact Nim value for the player to move: +1 when the nim-sum is non-zero (a win), −1 otherwise.</summary>
internal sealed class NimSumEvaluator : Telos.Objectives.IStateEvaluator<NimState>
{
    public void Evaluate(ReadOnlySpan<NimState> states, Span<double> values)
    {
        for (var i = 0; i < states.Length; i++)
        {
            values[i] = (states[i].H0 ^ states[i].H1 ^ states[i].H2) != 0 ? 1.0 : -1.0;
        }
    }
}

/// <summary>Hides a transform's type, so the search takes its generic selection path through <see cref="IQTransform"/>.</summary>
internal sealed class DelegatingTransform(IQTransform inner) : IQTransform
{
    public void Transform(SearchTree tree, int root, int node, Span<float> output) => inner.Transform(tree, root, node, output);
}
