using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace Telos.Cluster;

/// <summary>Places a grain on the silo whose address is the grain's string key, and nowhere else.</summary>
[GenerateSerializer, Alias("telos.own-silo-placement")]
public sealed class OwnSiloPlacement : PlacementStrategy
{
    internal static readonly OwnSiloPlacement Instance = new();
}

/// <summary>Marks a grain class for <see cref="OwnSiloPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class OwnSiloPlacementAttribute : PlacementAttribute
{
    public OwnSiloPlacementAttribute()
        : base(OwnSiloPlacement.Instance)
    {
    }
}

/// <summary>Chooses the silo named by the key; refuses when that silo is not (or no longer) in the cluster.</summary>
internal sealed class OwnSiloPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var key = target.GrainIdentity.Key.ToString();
        var silo = context.GetCompatibleSilos(target).FirstOrDefault(s => s.ToParsableString() == key);
        return silo is null
            ? Task.FromException<SiloAddress>(new SiloUnavailableException($"silo {key} is not in the cluster"))
            : Task.FromResult(silo);
    }
}
