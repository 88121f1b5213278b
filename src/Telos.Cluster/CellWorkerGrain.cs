using Orleans.Concurrency;

namespace Telos.Cluster;

/// <summary>The grain face of a silo's <see cref="SiloCells"/> (see <see cref="ICellWorkerGrain"/>).</summary>
[OwnSiloPlacement, Reentrant, KeepAlive]
internal sealed class CellWorkerGrain(SiloCells cells) : Grain, ICellWorkerGrain
{
    public Task<int> Slots() => Task.FromResult(cells.Slots);

    public Task Start(CellJob job)
    {
        cells.Start(job);
        return Task.CompletedTask;
    }

    public Task<CellReport> Wait(string key, TimeSpan wait) => cells.WaitAsync(key, wait);

    public Task<byte[]> Read(string key, string path, long offset, int count) => Task.FromResult(cells.Read(key, path, offset, count));

    public Task Release(string key)
    {
        cells.Release(key);
        return Task.CompletedTask;
    }
}
