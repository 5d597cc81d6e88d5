from setuptools import find_packages, setup


def read_requirements(path):
    with open(path) as f:
        return [line.split('#')[0].strip() for line in f if line.split('#')[0].strip()]


setup(
    name='fba_mm',
    version='0.1.0',
    description='Supervised local learning with a feature bank (FBA) for OpenMMLab 2.x',
    packages=find_packages(include=['fba_mm', 'fba_mm.*']),
    python_requires='>=3.10',  # X | Y annotations
    # mmcv (with compiled ops) and mmagic are installed by tools/install.sh with --no-build-isolation --no-deps:
    # a plain resolver install replaces the CPU torch and breaks the mmcv build (see docs/install.md).
    install_requires=read_requirements('requirements/runtime.txt') + ['mmcv==2.1.0', 'mmagic==1.2.0'],
    extras_require={'tests': read_requirements('requirements/tests.txt')},
)
