from fba_mm.core.aux_rules import augloc_depth, sample_uniformly


def test_augloc_depth_falls_linearly_with_the_module_index():
    assert [augloc_depth(k, 4, max_depth=3) for k in range(3)] == [3, 2, 1]
    assert [augloc_depth(k, 8, max_depth=4, min_depth=2) for k in range(7)] == [4, 3, 3, 2, 2, 2, 2]


def test_uniform_sampling_spans_the_later_layers():
    names = [f'b{i}' for i in range(7)]
    assert sample_uniformly(names, 3) == ['b0', 'b3', 'b6']
    assert sample_uniformly(names, 1) == ['b0']
    assert sample_uniformly(names[:2], 5) == ['b0', 'b1']
