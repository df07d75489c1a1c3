"""What the tests share: the repository's files, accounts and stacks on the engine, tool runs, fakes and fixtures."""
