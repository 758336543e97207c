from autolearn.samplers import GridSampler, RandomSampler
from autolearn.testing.samplers import SamplerConformance


class TestRandomSampler(SamplerConformance):
    @staticmethod
    def make_sampler(space, seed):
        return RandomSampler(seed=seed)


class TestGridSampler(SamplerConformance):
    finite_only = True

    @staticmethod
    def make_sampler(space, seed):
        return GridSampler(space, seed=seed)
