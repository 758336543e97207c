import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("gymnasium")


@pytest.fixture(autouse=True)
def _one_thread():
    """Tests share two cores with other jobs; tiny nets are fastest single-threaded anyway."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
