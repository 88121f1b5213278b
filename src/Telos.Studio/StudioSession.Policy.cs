using Telos.Lab.Runs;
using Telos.Randomness;

namespace Telos.Studio;

/// <summary>The learned optimizer beside the planner: a PPO policy from the run store, its path on the selected level, and its handles.</summary>
public sealed partial class StudioSession
{
    private readonly RunStore? _store;
    private StudioPolicy? _policy;
    private PolicyHandle? _handle;

    // The policy's paths depend only on the level and the handle, not on the card: kept until one of them changes.
    private (PolicyKey Key, StudioPolicyView View)? _policyPaths;

    /// <summary>The loaded policy (tests check it is loaded once and disposed when replaced).</summary>
    internal StudioPolicy? LoadedPolicy
    {
        get
        {
            lock (_gate)
            {
                return _policy;
            }
        }
    }

    /// <summary>The run store the policy is loaded from, or null.</summary>
    public string? RunsDirectory => _store?.Root;

    /// <summary>The seed the policy's episodes run with (<see cref="StudioPolicyView.Seed"/>).</summary>
    public ulong PolicySeed => Seeds.Derive(_rootSeed, "studio/policy");

    /// <summary>The run store's <c>ppo</c> runs and their checkpoints; none without a run store.</summary>
    public StudioRuns Runs()
    {
        lock (_gate)
        {
            return _store is null ? new StudioRuns(null, []) : new StudioRuns(_store.Root, StudioPolicy.List(_store));
        }
    }

    /// <summary>
    /// Loads a run's newest checkpoint, or one checkpoint file the run store lists, as the policy beside
    /// the planner (the previous one is disposed, its handle dropped). Loading the checkpoint already
    /// loaded keeps it and drops the handle.
    /// </summary>
    /// <exception cref="TelosInputException">
    /// No run store; neither or both of run and checkpoint; an unknown or non-ppo run; a path the store does not list; a damaged checkpoint;
    /// a policy whose observations do not fit the selected level (nothing changes then).
    /// </exception>
    public StudioView LoadPolicy(PolicyRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            var store = _store ?? throw new TelosInputException("run: the studio was started without a run store (telos studio --runs DIR)");
            var (run, checkpoint) = StudioPolicy.Resolve(store, request);
            if (_policy is not null && _policy.Checkpoint.TensorPath == checkpoint.TensorPath)
            {
                return ApplyHandle(_policy, null);
            }
            var loaded = StudioPolicy.Load(store, run, checkpoint);
            StudioPolicyView view;
            try
            {
                view = PolicyPaths(loaded, null);
            }
            catch
            {
                loaded.Dispose();
                throw;
            }
            _policy?.Dispose();
            (_policy, _handle) = (loaded, null);
            _policyPaths = (Key(null), view);
            return ComputeView();
        }
    }

    /// <summary>Applies a steering vector or a clamp to the loaded policy (or removes it); the view then carries both paths.</summary>
    /// <exception cref="TelosInputException">
    /// No policy loaded; an unknown kind or hook point; a channel outside the point; a cell off the grid; a non-finite coefficient or value;
    /// a steering vector on a level without a cheese (nothing changes then).
    /// </exception>
    public StudioView SetHandle(HandleRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            var policy = _policy ?? throw new TelosInputException("no policy loaded: load a ppo run first (POST /api/policy)");
            return ApplyHandle(policy, policy.Check(request));
        }
    }

    /// <summary>Disposes the loaded policy.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _policy?.Dispose();
            _policy = null;
            _policyPaths = null;
        }
    }

    private StudioView ApplyHandle(StudioPolicy policy, PolicyHandle? handle)
    {
        var view = PolicyPaths(policy, handle);
        _handle = handle;
        _policyPaths = (Key(handle), view);
        return ComputeView();
    }

    /// <summary>Both paths on the selected level; refusals propagate (a request that asked for them gets its 400).</summary>
    private StudioPolicyView PolicyPaths(StudioPolicy policy, PolicyHandle? handle) =>
        policy.View(_selection.Distribution, _selection.Parameters, _selection.Seed, handle, PolicySeed);

    /// <summary>The view's policy part: kept while the level and handle stay; a level that does not fit it says why instead of refusing the level.</summary>
    private StudioPolicyView? PolicyView()
    {
        if (_policy is null)
        {
            return null;
        }
        var key = Key(_handle);
        if (_policyPaths is { } kept && kept.Key == key)
        {
            return kept.View;
        }
        StudioPolicyView view;
        try
        {
            view = PolicyPaths(_policy, _handle);
        }
        catch (TelosInputException e)
        {
            view = _policy.Unavailable(PolicySeed, _handle, e.Message);
        }
        _policyPaths = (key, view);
        return view;
    }

    private PolicyKey Key(PolicyHandle? handle) => new(_selection.Distribution, _selection.Parameters.ToString(), _selection.Seed, handle);

    private sealed record PolicyKey(string Distribution, string Parameters, long Seed, PolicyHandle? Handle);
}
