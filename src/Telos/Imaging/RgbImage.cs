namespace Telos.Imaging;

/// <summary>A small 8-bit RGB raster, row-major, 3 bytes per pixel, for report images.</summary>
public sealed class RgbImage
{
    private readonly byte[] _pixels;

    /// <summary>A black image of <paramref name="width"/>×<paramref name="height"/> pixels.</summary>
    public RgbImage(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        Width = width;
        Height = height;
        _pixels = new byte[width * height * 3];
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>[Height, Width, 3] bytes.</summary>
    public ReadOnlySpan<byte> Pixels => _pixels;

    /// <summary>The colour at (x, y), x to the right, y down.</summary>
    public Rgb this[int x, int y]
    {
        get
        {
            var i = 3 * (y * Width + x);
            return new Rgb(_pixels[i], _pixels[i + 1], _pixels[i + 2]);
        }
    }

    /// <summary>Fills the rectangle [x, x+w) × [y, y+h), clipped to the image.</summary>
    public void Fill(int x, int y, int w, int h, Rgb colour)
    {
        var x0 = Math.Max(0, x);
        var y0 = Math.Max(0, y);
        var x1 = Math.Min(Width, x + w);
        var y1 = Math.Min(Height, y + h);
        for (var row = y0; row < y1; row++)
        {
            for (var column = x0; column < x1; column++)
            {
                var i = 3 * (row * Width + column);
                _pixels[i] = colour.R;
                _pixels[i + 1] = colour.G;
                _pixels[i + 2] = colour.B;
            }
        }
    }

    /// <summary>Copies <paramref name="source"/> with its top-left corner at (x, y), clipped.</summary>
    public void Draw(RgbImage source, int x, int y)
    {
        for (var row = 0; row < source.Height; row++)
        {
            var ty = y + row;
            if (ty < 0 || ty >= Height)
            {
                continue;
            }
            var x0 = Math.Max(0, x);
            var x1 = Math.Min(Width, x + source.Width);
            if (x1 <= x0)
            {
                continue;
            }
            source._pixels.AsSpan(3 * (row * source.Width + (x0 - x)), 3 * (x1 - x0)).CopyTo(_pixels.AsSpan(3 * (ty * Width + x0)));
        }
    }

    /// <summary>Lays <paramref name="frames"/> out left to right, <paramref name="perRow"/> to a row, with <paramref name="gap"/> pixels of <paramref name="background"/> between them.</summary>
    /// <exception cref="ArgumentException">No frames.</exception>
    public static RgbImage Strip(IReadOnlyList<RgbImage> frames, int perRow = 16, int gap = 2, Rgb? background = null)
    {
        if (frames.Count == 0)
        {
            throw new ArgumentException("a strip needs at least one frame", nameof(frames));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(perRow, 1);
        var w = frames.Max(f => f.Width);
        var h = frames.Max(f => f.Height);
        var columns = Math.Min(perRow, frames.Count);
        var rows = (frames.Count + perRow - 1) / perRow;
        var strip = new RgbImage(columns * w + (columns + 1) * gap, rows * h + (rows + 1) * gap);
        strip.Fill(0, 0, strip.Width, strip.Height, background ?? new Rgb(255, 255, 255));
        for (var i = 0; i < frames.Count; i++)
        {
            strip.Draw(frames[i], gap + (i % perRow) * (w + gap), gap + (i / perRow) * (h + gap));
        }
        return strip;
    }

    /// <summary>Encodes the image as PNG.</summary>
    public byte[] ToPng() => PngEncoder.Encode(Width, Height, _pixels);
}

/// <summary>An 8-bit RGB colour.</summary>
public readonly record struct Rgb(byte R, byte G, byte B);
