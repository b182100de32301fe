namespace Orchestrator.Grains.Tests.Support;

/// <summary>Test classes that share the one PostgreSQL server of the run (each in a database of its own).</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    /// <summary>The collection's name for <c>[Collection]</c>.</summary>
    public const string Name = "postgres";
}
