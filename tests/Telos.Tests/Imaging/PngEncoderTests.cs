using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Telos.Environments;
using Telos.Imaging;

namespace Telos.Tests.Imaging;

public sealed class PngEncoderTests
{
    [Fact]
    public void Crc32_matches_the_standard_check_value()
    {
        Assert.Equal(0xCBF43926u, PngEncoder.Crc32(Encoding.ASCII.GetBytes("123456789")));
    }

    [Fact]
    public void Png_chunks_carry_valid_crcs_and_the_pixels_round_trip()
    {
        var image = new RgbImage(5, 3);
        image.Fill(1, 1, 3, 1, new Rgb(10, 20, 30));
        image.Fill(4, 0, 1, 1, new Rgb(255, 0, 7));
        var png = image.ToPng();
        Assert.Equal([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], png[..8]);
        var chunks = new List<(string Type, byte[] Data)>();
        for (var at = 8; at < png.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            var typeAndData = png.AsSpan(at + 4, 4 + length);
            var crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + length));
            Assert.Equal(PngEncoder.Crc32(typeAndData), crc);
            chunks.Add((Encoding.ASCII.GetString(typeAndData[..4]), typeAndData[4..].ToArray()));
            at += 12 + length;
        }
        Assert.Equal(["IHDR", "IDAT", "IEND"], chunks.Select(c => c.Type));
        Assert.Equal(5, BinaryPrimitives.ReadInt32BigEndian(chunks[0].Data));
        Assert.Equal(3, BinaryPrimitives.ReadInt32BigEndian(chunks[0].Data.AsSpan(4)));
        using var inflate = new ZLibStream(new MemoryStream(chunks[1].Data), CompressionMode.Decompress);
        using var raw = new MemoryStream();
        inflate.CopyTo(raw);
        var bytes = raw.ToArray();
        Assert.Equal(3 * (1 + 5 * 3), bytes.Length);
        for (var row = 0; row < 3; row++)
        {
            Assert.Equal(0, bytes[row * 16]);
            Assert.Equal(image.Pixels.Slice(row * 15, 15).ToArray(), bytes.AsSpan(row * 16 + 1, 15).ToArray());
        }
    }

    [Fact]
    public void Maze_image_shows_walls_cheese_and_mouse_where_they_are()
    {
        var maze = Maze.Parse("""
            ..C
            .##
            ...
            """);
        var image = EnvironmentImages.Maze(maze, maze.Initial, cellPixels: 4);
        Assert.Equal((12, 12), (image.Width, image.Height));
        Assert.Equal(EnvironmentImages.Wall, image[4 + 2, 4 + 2]);          // cell (1,1)
        Assert.Equal(EnvironmentImages.Cheese, image[8 + 2, 0 + 2]);        // cell (0,2)
        Assert.Equal(EnvironmentImages.Agent, image[0 + 2, 8 + 2]);         // start (2,0)
        Assert.Equal(EnvironmentImages.Floor, image[4 + 2, 0 + 2]);

        var strip = EnvironmentImages.MazeEpisode(maze, [maze.Initial, new MazeState(7, 1), new MazeState(8, 2)], cellPixels: 4, perRow: 2);
        Assert.Equal((2 * 12 + 3 * 2, 2 * 12 + 3 * 2), (strip.Width, strip.Height));
        Assert.Equal(EnvironmentImages.Agent, strip[2 + 12 + 2 + 4 + 2, 2 + 8 + 2]); // frame 2: mouse at (2,1)
    }
}
