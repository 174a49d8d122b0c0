enum PlaceholderReplication {}
