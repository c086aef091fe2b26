"""ciou's alpha_gate convention: the CIoU authors' official code (and mmdetection) set α to 0 where IoU <= 0.5."""
from fixtures.gated_ciou import ciou_gated
from losscheck import audit


def test_the_official_gated_ciou_is_found_as_a_convention():
    result = audit(ciou_gated, as_="ciou", max_examples=15)
    assert result.exit_code() == 0 and result.conventions["alpha_gate"] == "iou"
