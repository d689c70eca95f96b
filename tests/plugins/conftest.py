"""The CPU twins of the TensorRT plugins, or a skip with the reason when they are not built."""
import pytest

from lsnet.errors import LSNetError
from lsnet.plugins import load_twins


@pytest.fixture(scope="session")
def twins():
    try:
        return load_twins()
    except LSNetError as e:
        pytest.skip(str(e))
