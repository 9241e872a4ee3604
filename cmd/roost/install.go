package main

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/roost-dev/roost/deploy"
)

func init() { clusterCommands = append(clusterCommands, newInstallCommand) }

// newInstallCommand builds `roost install`: it makes the cluster serve
// Rollouts and the analysis kinds by installing roost's CRDs, unless they are
// there already. Argo Rollouts' CRDs are left as they are: roost works with
// them, and they belong to the Argo installation.
func newInstallCommand(flags *genericclioptions.ConfigFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "install",
		Short: "Install the Rollout and analysis CRDs (argoproj.io/v1alpha1) the cluster lacks",
		Long: `Install the CustomResourceDefinitions roost works with into the current
cluster, each one it lacks, and wait until they are established: Rollout
(rollouts.argoproj.io), AnalysisTemplate, ClusterAnalysisTemplate and
AnalysisRun (analysistemplates, clusteranalysistemplates and
analysisruns.argoproj.io).

An existing CRD installed by Argo Rollouts is left untouched; roost works with
it as it is. A CRD installed by an older roost is updated.

The manifests of the in-cluster controller (roost controller) and its RBAC are in
the deploy/ folder of the source: kubectl apply -f deploy/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := flags.ToRESTConfig()
			if err != nil {
				return err
			}
			return deploy.Install(cmd.Context(), cfg, cmd.OutOrStdout())
		},
	}
}
