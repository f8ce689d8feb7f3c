// Prints the reference's level-1/level-2 scores for every pair (a <= b by
// argument order) of .tmk files, exactly (hex float) and as
// tmk-two-level-score prints them (%.6f). Build against tmk/cpp's libtmk.a.
#include <tmk/cpp/algo/tmkfv.h>
#include <stdio.h>
#include <libgen.h>
using namespace facebook::tmk::algo;
int main(int argc, char **argv) {
  std::vector<std::shared_ptr<TMKFeatureVectors>> v;
  for (int i = 1; i < argc; i++) {
    v.push_back(TMKFeatureVectors::readFromInputFile(argv[i], argv[0]));
    if (!v.back()) return 1;
  }
  for (int i = 1; i < argc; i++)
    for (int j = i; j < argc; j++) {
      float s1 = TMKFeatureVectors::computeLevel1Score(*v[i - 1], *v[j - 1]);
      float s2 = TMKFeatureVectors::computeLevel2Score(*v[i - 1], *v[j - 1]);
      printf("%s %s %a %a %.6f %.6f\n", basename(argv[i]), basename(argv[j]),
             (double)s1, (double)s2, s1, s2);
    }
  return 0;
}
