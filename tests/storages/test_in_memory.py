import pytest

from autolearn.storages import InMemoryStorage
from autolearn.testing.storages import StorageConformance


class TestInMemoryStorage(StorageConformance):
    @pytest.fixture
    def storage(self):
        return InMemoryStorage()
