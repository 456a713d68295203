import pytest

from audiorole.errors import ConfigError
from audiorole.utils.metrics import metric_value


def test_metric_value():
    assert metric_value({"val/ap": 0.5}, "val/ap") == 0.5
    assert metric_value({"val/ap": float("nan")}, "val/ap") is None
    assert metric_value({}, None) is None
    with pytest.raises(ConfigError, match="val/cp.*logged: val/ap"):
        metric_value({"val/ap": 0.5}, "val/cp")
