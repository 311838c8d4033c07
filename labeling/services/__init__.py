"""Write-side business logic. Every public function runs in a transaction and raises
``ServiceError`` subclasses whose messages are module constants the tests import."""
