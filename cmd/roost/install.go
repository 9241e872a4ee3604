package main

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/roost-dev/roost/deploy"
)

func init() { clusterCommands = append(clusterCommands, newInstallCommand) }

// newInstallCommand builds `roost install`: it makes the cluster serve
// Rollouts by installing roost's CRD, unless one is there already. An Argo
// Rollouts CRD is left as it is: roost works with it, and it belongs to the
// Argo installation.
func newInstallCommand(flags *genericclioptions.ConfigFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "install",
		Short: "Install the Rollout CRD (argoproj.io/v1alpha1) if the cluster has none",
		Long: `Install the Rollout CustomResourceDefinition (rollouts.argoproj.io) into the
current cluster when it has none, and wait until it is established.

An existing Rollout CRD installed by Argo Rollouts is left untouched; roost works
with it as it is. A CRD installed by an older roost is updated.

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
