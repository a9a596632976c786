using BendCare.Cache.CacheAside;

namespace BendCare.Cache.UnitTests;

public class IdValidatorTests
{
    [Fact]
    public void Null_id_throws_ArgumentNullException_naming_the_parameter()
    {
        var ex = Assert.Throws<ArgumentNullException>(() => IdValidator.Validate(null, "userId"));
        Assert.Equal("userId", ex.ParamName);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("   ")]
    [InlineData("\u2003\u00a0")]
    [InlineData("a\nb")]
    [InlineData("\n")]
    [InlineData("a\0b")]
    [InlineData("a\u007fb")]
    [InlineData("a\rb")]
    [InlineData("\tindented")]
    [InlineData("a\u0085b")]
    [InlineData("a\u2028b")]
    [InlineData("a\u2029b")]
    public void Invalid_id_throws_ArgumentException_naming_the_parameter(string id)
    {
        var ex = Assert.Throws<ArgumentException>(() => IdValidator.Validate(id, "roleId"));
        Assert.Equal("roleId", ex.ParamName);
    }

    [Fact]
    public void Id_of_513_characters_throws_ArgumentException_naming_the_parameter()
    {
        var ex = Assert.Throws<ArgumentException>(() => IdValidator.Validate(new string('x', 513), "tokenId"));
        Assert.Equal("tokenId", ex.ParamName);
    }

    [Fact]
    public void Id_of_exactly_512_characters_is_accepted()
    {
        Assert.Equal(512, IdValidator.MaxLength);
        IdValidator.Validate(new string('x', 512), "tokenId");
    }

    [Theory]
    [InlineData("1")]
    [InlineData("user-42")]
    [InlineData("6f1c2d9e-1b7a-4c55-9d0e-2a3b4c5d6e7f")]
    [InlineData("org:1/user:2")]
    [InlineData(" padded ")]
    [InlineData("naïve-ünïcödé-ユーザー")]
    [InlineData("a b")]
    [InlineData("emoji-\ud83d\ude00")]
    public void Normal_ids_are_accepted(string id) => IdValidator.Validate(id, "userId");

    [Fact]
    public void Ids_with_an_unpaired_surrogate_throw_ArgumentException_naming_the_parameter()
    {
        // Built here, not as theory data: the test runner's serialisation would replace a lone surrogate by U+FFFD.
        foreach (string id in new[] { "a" + '\ud800' + "b", "a" + '\udc00' + "b", "end" + '\ud83d', '\ude00' + "start", "x" + '\ude00' + '\ud83d' })
        {
            var ex = Assert.Throws<ArgumentException>(() => IdValidator.Validate(id, "userId"));
            Assert.Equal("userId", ex.ParamName);
        }
    }

    [Fact]
    public void Two_ids_differing_only_in_an_unpaired_surrogate_cannot_map_to_one_key()
    {
        // Both would be encoded as U+FFFD: the same Redis key for two different ids.
        Assert.Throws<ArgumentException>(() => IdValidator.Validate("user-\ud800", "userId"));
        Assert.Throws<ArgumentException>(() => IdValidator.Validate("user-\udbff", "userId"));
    }
}
